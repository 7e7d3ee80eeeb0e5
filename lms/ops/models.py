"""Workers say they live: each ``lms worker`` writes its row every ``LMS_WORKER_HEARTBEAT_S``
seconds, with fingerprints of its settings, so ``lms doctor`` can tell a dead or misconfigured
worker from a live one on any machine."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.models import utc_datetime
from lms.extensions import db


class WorkerBeat(db.Model):
    __tablename__ = "worker_beats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    started_at: Mapped[utc_datetime]
    seen_at: Mapped[utc_datetime] = mapped_column(index=True)
    # Fingerprints (never the secrets themselves) and what the worker found on its machine.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)

"""``lms worker`` checks its queue before it starts (a wrong ``LMS_QUEUE_URL`` is a clear error,
not a consumer retrying for ever) and then beats: every ``LMS_WORKER_HEARTBEAT_S`` seconds it
writes its row in ``worker_beats`` (with fingerprints of its settings, for ``lms doctor``);
beating more often than once a minute, it also sends again the transcodes whose worker died
(otherwise the queue's minute check does)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from sqlalchemy import delete

from lms.core.time import utcnow
from lms.extensions import db
from lms.ops.fingerprints import settings
from lms.ops.models import WorkerBeat

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_S = 60


def interval_s() -> float:
    configured = current_app.config.get("LMS_WORKER_HEARTBEAT_S")
    return float(configured or os.environ.get("LMS_WORKER_HEARTBEAT_S") or DEFAULT_INTERVAL_S)


def shown_url(url: str) -> str:
    """*url* without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def queue_problem() -> str | None:
    """None when the job queue answers, else what is wrong, in plain words."""
    from lms.core.jobs import huey

    url = current_app.config["LMS_QUEUE_URL"]
    try:
        huey.storage.queue_size()
    except Exception as error:  # redis.ConnectionError, sqlite3.Error … : say which and why
        return (
            f"the job queue at {shown_url(url)} cannot be reached ({error}); "
            "check LMS_QUEUE_URL and that Redis runs there"
        )
    return None


def name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(started_at) -> None:
    """Write this worker's row (and forget workers silent for a day)."""
    now = utcnow()
    row = WorkerBeat(
        name=name(),
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=started_at,
        seen_at=now,
        settings=settings(secrets.token_hex(8)),
    )
    db.session.merge(row)
    db.session.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now - timedelta(days=1)))
    db.session.commit()


def start_heartbeat(app: Flask) -> threading.Event:
    """Beat now, then every interval in a daemon thread; setting the returned event stops it."""
    started_at = utcnow()
    stop = threading.Event()
    with app.app_context():
        beat(started_at)
        every = interval_s()

    def run() -> None:
        from lms.media.tasks import requeue_stalled

        while not stop.wait(every):
            with app.app_context():
                try:
                    beat(started_at)
                    # Beating more often than the queue's own minute check: a dead worker's
                    # transcode is sent again sooner too.
                    sent = requeue_stalled() if every < 60 else 0
                    if sent:
                        log.info("sent %s stalled transcode(s) again", sent)
                except Exception:  # the database may be away a moment: beat again later
                    db.session.rollback()
                    log.exception("worker heartbeat failed")

    threading.Thread(target=run, name="lms-worker-heartbeat", daemon=True).start()
    return stop


def forget() -> None:
    """Remove this worker's row (a clean stop)."""
    db.session.execute(delete(WorkerBeat).where(WorkerBeat.name == name()))
    db.session.commit()

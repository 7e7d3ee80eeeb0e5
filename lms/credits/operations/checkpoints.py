"""Ledger checkpoints (``credits.checkpoints``): making one. Flush, never commit; the caller
writes the files to the checkpoint folder after its commit (law 2)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from lms.core.errors import Conflict
from lms.core.rows import add_unique
from lms.core.time import utcnow
from lms.credits import access, checkpoints
from lms.credits.models import LedgerCheckpoint
from lms.extensions import db


def create_checkpoint(*, now: datetime | None = None) -> LedgerCheckpoint:
    """Sign the head of every account's chain as the next checkpoint. Its number follows the
    highest one known to the database *or* the folder, so that after an older database is
    restored the next checkpoint never takes a number the folder already holds."""
    now = now or utcnow()
    leaves = checkpoints.build_leaves(checkpoints.stream_heads())
    in_database = db.session.scalar(select(func.max(LedgerCheckpoint.number))) or 0
    number = max([in_database, *checkpoints.folder_numbers()]) + 1
    previous = db.session.scalar(select(LedgerCheckpoint).filter_by(number=number - 1))
    college = access.county_unit()
    with force_locale(current_app.config["LMS_LOCALES"][0]):
        issuer = _("%(unit)s社区教育学院", unit=college.name) if college else ""
    payload = {
        "format": checkpoints.FORMAT,
        "number": number,
        "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "issuer": {"name": issuer, "code": current_app.config["LMS_COUNTY_CODE"]},
        "accounts": leaves.accounts,
        "entries": leaves.entries,
        "root": leaves.root,
        "leaves_sha256": leaves.sha256,
        "tree": checkpoints.TREE,
        "previous": {"number": previous.number, "root": previous.root} if previous else None,
    }
    checkpoint = LedgerCheckpoint(
        number=number,
        created_at=now,
        root=leaves.root,
        accounts=leaves.accounts,
        entries=leaves.entries,
        document=checkpoints.sign(payload),
        leaves=leaves.gz,
    )
    if not add_unique(checkpoint):
        raise Conflict(_("另一个账本检查点正在生成，请稍后再试"))
    return checkpoint

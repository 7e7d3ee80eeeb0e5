"""Transcripts (学分证明): a signed snapshot of the standing credits."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.accounts.models import User
from lms.core.errors import Conflict
from lms.core.time import local, local_date, utcnow
from lms.core.web import site_url
from lms.credits import access, checkpoints, signing
from lms.credits.models import (
    CreditAccount,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
    Transcript,
    TranscriptEntry,
)
from lms.credits.operations.accounts import account_for, lock_account
from lms.extensions import db

SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over a phone


def standing_entries(account: CreditAccount) -> list[LedgerEntry]:
    """The deposits of *account* that have not been reversed, oldest first."""
    reversed_ids = select(LedgerEntry.reverses_id).where(
        LedgerEntry.account_id == account.id, LedgerEntry.reverses_id.is_not(None)
    )
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.account_id == account.id,
                LedgerEntry.kind == EntryKind.DEPOSIT,
                LedgerEntry.id.not_in(reversed_ids),
            )
            .order_by(LedgerEntry.seq)
            .options(
                selectinload(LedgerEntry.outcome).selectinload(LearningOutcome.certifying_unit)
            )
        )
    )


def _serial(year: int) -> str:
    return f"LX{year}-" + "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(8))


def issue_transcript(user: User, *, now: datetime | None = None) -> Transcript:
    """Issue a 学分证明 of every standing credit: a signed snapshot that the PDF and the JSON
    are both made from, so they always agree. Asked again with nothing changed (the same
    standing credits, the same name, the last one not revoked), it returns the last one
    rather than a second serial for the same content: a double tap issues one transcript."""
    account = account_for(user)
    if account is not None:
        # Issues for one account happen one after another, so the second of two taps waits
        # for the first and then finds its transcript.
        lock_account(account)
    entries = standing_entries(account) if account else []
    if not entries:
        raise Conflict(_("您还没有已认证的学分，暂时不能开具学分证明"))
    unchanged = _unchanged_transcript(user, account, entries)
    if unchanged is not None:
        return unchanged
    now = now or utcnow()
    code = secrets.token_urlsafe(9)
    serial = _serial(local_date(now).year)
    while db.session.scalar(select(Transcript.id).filter_by(serial=serial)):
        serial = _serial(local_date(now).year)
    college = access.county_unit()
    # The signed document is an official record: its words are the default language's,
    # whatever language the resident reads the site in.
    with force_locale(current_app.config["LMS_LOCALES"][0]):
        rows = [_transcript_row(entry) for entry in entries]
        issuer = _("%(unit)s社区教育学院", unit=college.name) if college else ""
    total_credits = sum((entry.amount for entry in entries), Decimal("0.0"))
    total_hours = sum((entry.outcome.hours for entry in entries if entry.outcome), Decimal("0.0"))
    payload = {
        "format": "lms-transcript/1",
        "serial": serial,
        "issued_at": local_isoformat(now),
        "issuer": {
            "name": issuer,
            "code": current_app.config["LMS_COUNTY_CODE"],
        },
        "holder": {
            "name": user.name,
            "phone": user.masked_phone,
            "account_no": account.account_no,
        },
        "entries": rows,
        "total_hours": f"{total_hours:.1f}",
        "total_credits": f"{total_credits:.1f}",
        "verify_url": site_url("credits.verify", serial=serial, code=code, external=True),
    }
    # The ledger checkpoint it was issued under: whoever holds the transcript can later ask
    # `lms credits verify-ledger --checkpoint <url>` (or any auditor) whether the ledger still
    # holds every entry that checkpoint saw.
    checkpoint = checkpoints.reference()
    if checkpoint is not None:
        payload["checkpoint"] = checkpoint
    transcript = Transcript(
        serial=serial,
        code=code,
        user_id=user.id,
        account_id=account.id,
        issued_at=now,
        total_credits=total_credits,
        document=signing.sign_document(payload),
    )
    db.session.add(transcript)
    db.session.flush()
    db.session.add_all(
        TranscriptEntry(transcript_id=transcript.id, entry_id=entry.id) for entry in entries
    )
    db.session.flush()
    return transcript


def _unchanged_transcript(
    user: User, account: CreditAccount, entries: list[LedgerEntry]
) -> Transcript | None:
    """The account's last transcript, if it still stands and lists exactly *entries* for the
    holder's current name."""
    last = db.session.scalar(
        select(Transcript)
        .where(Transcript.account_id == account.id)
        .order_by(Transcript.id.desc())
        .limit(1)
    )
    if last is None or last.revoked_at is not None:
        return None
    listed = set(
        db.session.scalars(
            select(TranscriptEntry.entry_id).where(TranscriptEntry.transcript_id == last.id)
        )
    )
    holder = (last.document.get("transcript") or {}).get("holder") or {}
    if listed != {entry.id for entry in entries} or holder.get("name") != user.name:
        return None
    return last


def _transcript_row(entry: LedgerEntry) -> dict:
    outcome = entry.outcome
    return {
        "entry_id": entry.id,
        "date": outcome.occurred_on.isoformat() if outcome else "",
        "title": outcome.title if outcome else entry.memo,
        "kind": str(outcome.kind) if outcome else "",
        "kind_label": outcome.kind.label if outcome else "",
        "hours": f"{outcome.hours:.1f}" if outcome else "",
        "credits": f"{entry.amount:.1f}",
        "certified_by": _certifier_name(outcome),
    }


def _certifier_name(outcome: LearningOutcome | None) -> str:
    if outcome is None or outcome.certifying_unit is None:
        return ""
    return outcome.certifying_unit.name


def local_isoformat(moment: datetime) -> str:
    return local(moment).isoformat(timespec="seconds")

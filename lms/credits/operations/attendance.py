"""Attendance at an activity as learning: an activity outcome certified in the name of the
organising unit, converted by the rules for activities and posted once per attendance (ledger key
``attendance:<id>``); a correction after closing reverses it. Called through the signals
``attendance_counted`` and ``attendance_voided`` (activities knows nothing of credits)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.models import User
from lms.accounts.operations import notify
from lms.activities.models import Attendance
from lms.core.time import local_date, utcnow
from lms.core.web import site_url
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeKind, OutcomeStatus
from lms.credits.operations.accounts import find_entry, lock_account, open_account
from lms.credits.operations.outcomes import _deposit, _reverse
from lms.extensions import db


def attendance_outcome(attendance: Attendance) -> LearningOutcome | None:
    return db.session.scalar(select(LearningOutcome).filter_by(attendance_id=attendance.id))


def record_attendance(attendance: Attendance, *, by: User | None = None) -> LedgerEntry | None:
    """The attendance's outcome (certified by the system in the organising unit's name) and its
    credits. Safe to call any number of times, also at once: the account's lock orders the
    callers, the outcome is unique per attendance and the posting per ledger key."""
    activity = attendance.activity
    account = open_account(attendance.user)
    lock_account(account)
    outcome = attendance_outcome(attendance)
    if outcome is None:
        outcome = LearningOutcome(
            user_id=attendance.user_id,
            kind=OutcomeKind.ACTIVITY,
            title=activity.title,
            hours=activity.hours,
            occurred_on=local_date(activity.starts_at),
            issuer=activity.unit.name,
            description=activity.place,
            attendance_id=attendance.id,
            status=OutcomeStatus.CERTIFIED,
            decided_at=utcnow(),
            decided_by_id=by.id if by is not None else None,
            certifying_unit_id=activity.unit_id,
        )
        db.session.add(outcome)
        db.session.flush()
    elif outcome.status is not OutcomeStatus.CERTIFIED:
        return None  # revoked by a correction: counting again does not bring it back
    entry = find_entry(f"attendance:{attendance.id}")
    if entry is None and outcome.credits is None:
        entry, conversion = _deposit(outcome, account, by)
        if conversion.awarded > 0:
            notify(
                attendance.user,
                _(
                    "您参加的“%(title)s”已记入学习档案，获得 %(n)s 学分",
                    title=activity.title,
                    n=conversion.awarded,
                ),
                link=site_url("records.my_learning_file"),
            )
    return entry


def revoke_attendance(attendance: Attendance, *, actor: User, reason: str) -> None:
    """Take back what *attendance* earned: the reversal of its posting (when one was made) and
    its outcome revoked."""
    entry = find_entry(f"attendance:{attendance.id}")
    if entry is not None:
        if find_entry(f"reversal:{entry.id}") is None:
            _reverse(entry, actor, reason)
        return
    outcome = attendance_outcome(attendance)
    if outcome is not None and outcome.status is OutcomeStatus.CERTIFIED:
        outcome.status = OutcomeStatus.REVOKED
        outcome.reason = reason
        outcome.decided_by_id = actor.id
        outcome.decided_at = utcnow()
        db.session.flush()

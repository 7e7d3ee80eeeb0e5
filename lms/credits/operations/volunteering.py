"""Volunteer service at an activity becomes a volunteer-service outcome, certified in the name of
the activity's unit and converted by the rules for volunteer service (the activities registry
sends ``volunteer_served`` once per assignment when the activity closes)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from lms.core.time import local_date, utcnow
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeKind, OutcomeStatus
from lms.credits.operations.accounts import lock_account, open_account
from lms.credits.operations.outcomes import _deposit
from lms.extensions import db


def record_volunteer_service(assignment) -> LedgerEntry | None:
    """Record the service of *assignment* (an ``ActivityVolunteer`` whose hours were just
    recorded, its volunteer linked to an account) and post its credits. The registry claims the
    assignment before sending, so this runs once per assignment; should a live outcome with the
    same title, day and hours exist already (another activity of the same name that day, or
    the resident's own report), the activity's number tells them apart."""
    activity, user = assignment.activity, assignment.volunteer.user
    account = open_account(user)
    lock_account(account)
    occurred_on = local_date(activity.ends_at)
    title = _("志愿服务：%(title)s", title=activity.title)[:200]
    if _live(user.id, title, occurred_on, assignment.served_hours):
        title = _("志愿服务：%(title)s（活动 %(id)s）", title=activity.title[:150], id=activity.id)
    outcome = LearningOutcome(
        user_id=user.id,
        kind=OutcomeKind.VOLUNTEER,
        title=title,
        hours=assignment.served_hours,
        occurred_on=occurred_on,
        issuer=activity.unit.name,
        description=assignment.duty,
        status=OutcomeStatus.CERTIFIED,
        decided_at=utcnow(),
        certifying_unit_id=activity.unit_id,
    )
    db.session.add(outcome)
    db.session.flush()
    entry, _conversion = _deposit(outcome, account, None)
    return entry


def _live(user_id: int, title: str, occurred_on, hours) -> bool:
    return (
        db.session.scalar(
            select(LearningOutcome.id).where(
                LearningOutcome.user_id == user_id,
                LearningOutcome.kind == OutcomeKind.VOLUNTEER,
                LearningOutcome.title == title,
                LearningOutcome.occurred_on == occurred_on,
                LearningOutcome.hours == hours,
                LearningOutcome.status.in_((OutcomeStatus.PENDING, OutcomeStatus.CERTIFIED)),
            )
        )
        is not None
    )

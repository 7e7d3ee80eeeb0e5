"""Reading activities: what a resident sees first (near them, soonest), what an organiser
runs, an activity's attendance list and the residents an organiser may tick by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, case, func, or_, select

from lms.accounts.models import OrgUnit, User
from lms.activities import access
from lms.activities.models import Activity, ActivityStatus, Attendance, Registration
from lms.core.time import utcnow
from lms.extensions import db


def upcoming(user: User | None, *, now: datetime | None = None) -> Select:
    """Open activities not yet over; for a signed-in resident only those open to them, their
    village's first, then their town's, then the rest (the county's), each soonest first."""
    now = now or utcnow()
    query = (
        select(Activity)
        .join(OrgUnit, Activity.unit_id == OrgUnit.id)
        .where(Activity.status == ActivityStatus.OPEN, Activity.ends_at > now)
    )
    if user is None or not user.is_authenticated:
        return query.where(Activity.audience_unit_id.is_(None)).order_by(
            Activity.starts_at, Activity.id
        )
    home = user.org_unit
    town_path = home.parent.path if home.parent is not None and home.parent.parent else home.path
    nearness = case(
        (Activity.unit_id == home.id, 0),
        (OrgUnit.path.startswith(town_path, autoescape=True), 1),
        else_=2,
    )
    return query.where(access.open_to(user)).order_by(nearness, Activity.starts_at, Activity.id)


def organised(user: User) -> Select:
    """The activities of the units *user* organises for, newest first."""
    return (
        select(Activity)
        .join(OrgUnit, Activity.unit_id == OrgUnit.id)
        .where(access.organised_by(user))
        .order_by(Activity.starts_at.desc(), Activity.id.desc())
    )


def running_now(user: User, *, now: datetime | None = None) -> list[Activity]:
    """The organiser's activities open for check-in at this moment."""
    from lms.activities.operations import check_in_margin

    now = now or utcnow()
    margin = check_in_margin()
    return list(
        db.session.scalars(
            select(Activity)
            .join(OrgUnit, Activity.unit_id == OrgUnit.id)
            .where(
                access.organised_by(user),
                Activity.status == ActivityStatus.OPEN,
                Activity.starts_at <= now + margin,
                Activity.ends_at >= now - margin,
            )
            .order_by(Activity.starts_at)
            .limit(20)
        )
    )


def attendance(activity: Activity) -> list[Attendance]:
    return list(
        db.session.scalars(
            select(Attendance)
            .where(Attendance.activity_id == activity.id)
            .order_by(Attendance.checked_in_at, Attendance.id)
        )
    )


def registered_not_present(activity: Activity) -> list[User]:
    present = select(Attendance.user_id).where(Attendance.activity_id == activity.id)
    return list(
        db.session.scalars(
            select(User)
            .join(Registration, Registration.user_id == User.id)
            .where(
                Registration.activity_id == activity.id,
                Registration.cancelled_at.is_(None),
                User.id.not_in(present),
            )
            .order_by(User.name)
        )
    )


def candidates(activity: Activity, q: str, *, limit: int = 20) -> list[User]:
    """Residents who may come to *activity* matching *q* (name, or a phone number in full or
    its last four digits) and not yet present, for ticking by hand."""
    q = " ".join(q.split())[:40]
    if not q:
        return []
    scope = activity.audience_unit or activity.unit
    present = select(Attendance.user_id).where(Attendance.activity_id == activity.id)
    if q.isdigit():
        match = User.phone == q if len(q) == 11 else User.phone.endswith(q, autoescape=True)
    else:
        match = User.name.contains(q, autoescape=True)
    return list(
        db.session.scalars(
            select(User)
            .join(OrgUnit, User.org_unit_id == OrgUnit.id)
            .where(
                OrgUnit.path.startswith(scope.path, autoescape=True),
                User.active.is_(True),
                User.id.not_in(present),
                or_(match),
            )
            .order_by(User.name, User.id)
            .limit(limit)
        )
    )


def counts(activity_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Activity id → (registered, present), for lists."""
    if not activity_ids:
        return {}
    registered = dict(
        db.session.execute(
            select(Registration.activity_id, func.count(Registration.id))
            .where(Registration.activity_id.in_(activity_ids), Registration.cancelled_at.is_(None))
            .group_by(Registration.activity_id)
        ).all()
    )
    present = dict(
        db.session.execute(
            select(Attendance.activity_id, func.count(Attendance.id))
            .where(Attendance.activity_id.in_(activity_ids), Attendance.voided_at.is_(None))
            .group_by(Attendance.activity_id)
        ).all()
    )
    return {i: (registered.get(i, 0), present.get(i, 0)) for i in activity_ids}

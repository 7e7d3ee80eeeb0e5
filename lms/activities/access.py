"""Who may organise, see and attend activities. Organisers are the staff of a unit — its
administrators and teachers — and act for that unit and every unit below it (the scope rules of
accounts.access)."""

from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, or_

from lms.accounts.access import grant_units, within
from lms.accounts.models import OrgUnit, Role, User
from lms.activities.models import Activity, Attendance
from lms.core.models import MAX_ID
from lms.extensions import db

ORGANISER_ROLES = (Role.ADMIN, Role.TEACHER)


def organiser_scopes(user: User) -> list[OrgUnit]:
    """The units *user* may organise activities for (each with its subtree)."""
    return [unit for role in ORGANISER_ROLES for unit in grant_units(user, role)]


def is_organiser(user: User) -> bool:
    return bool(organiser_scopes(user))


def can_organise_for(user: User, unit: OrgUnit) -> bool:
    return any(scope.contains(unit) for scope in organiser_scopes(user))


def can_organise(user: User, activity: Activity) -> bool:
    return can_organise_for(user, activity.unit)


def may_attend(user: User, activity: Activity) -> bool:
    """Residents of the audience unit's subtree (everyone when none is set)."""
    return activity.audience_unit is None or activity.audience_unit.contains(user.org_unit)


def organised_by(user: User) -> ColumnElement[bool]:
    """An SQL condition on a query joined to the activity's unit (``OrgUnit``): in *user*'s
    organiser scopes."""
    return within(organiser_scopes(user), OrgUnit.path)


def open_to(user: User) -> ColumnElement[bool]:
    """An SQL condition on ``Activity``: open to *user* (no audience, or one above their home)."""
    ancestors = [int(part) for part in user.org_unit.path.strip("/").split("/") if part]
    return or_(Activity.audience_unit_id.is_(None), Activity.audience_unit_id.in_(ancestors))


def get_activity_or_404(activity_id: int, *, user: User | None = None, to_organise=False):
    """The activity (anyone may see one: its public page); with *to_organise*, only for its
    organisers (404 for everyone else, who need not know the organiser's pages exist)."""
    activity = db.session.get(Activity, activity_id) if 0 < activity_id <= MAX_ID else None
    if activity is None:
        abort(404)
    if to_organise and (user is None or not can_organise(user, activity)):
        abort(404)
    return activity


def get_attendance_or_404(activity: Activity, attendance_id: int) -> Attendance:
    attendance = db.session.get(Attendance, attendance_id) if 0 < attendance_id <= MAX_ID else None
    if attendance is None or attendance.activity_id != activity.id:
        abort(404)
    return attendance

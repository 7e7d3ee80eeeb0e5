"""Who may see and change the registry. The staff who organise activities for a unit (its
administrators and teachers, ``activities.access``) keep the lecturers and volunteers of that
unit and the units below it and decide volunteer applications from there; full contact numbers
are for the unit's administrators and the person an entry is linked to (DESIGN law 8)."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.access import has_role_over, within
from lms.accounts.models import OrgUnit, Role, User
from lms.activities.access import can_organise_for, organiser_scopes
from lms.activities.registry.models import Lecturer, Volunteer
from lms.core.errors import Forbidden
from lms.core.models import MAX_ID
from lms.extensions import db


def staff_units(user: User) -> list[OrgUnit]:
    """The units whose registry *user* keeps (each with its subtree)."""
    return organiser_scopes(user)


def kept_units(user: User) -> list[OrgUnit]:
    """Every unit whose registry *user* keeps, in tree order (the forms' and filters' choices)."""
    return list(
        db.session.scalars(
            select(OrgUnit).where(within(staff_units(user), OrgUnit.path)).order_by(OrgUnit.code)
        )
    )


def require_staff(user: User) -> list[OrgUnit]:
    scopes = staff_units(user)
    if not scopes:
        raise Forbidden(_("只有各级管理员和教师可以管理讲师团和志愿者队伍"))
    return scopes


def can_keep(user: User, unit: OrgUnit) -> bool:
    """*user* keeps the registry of *unit* (organises activities for it or a unit above)."""
    return user.is_authenticated and can_organise_for(user, unit)


def can_see_contact(viewer: User, entry: Lecturer | Volunteer) -> bool:
    """Law 8: the whole number for the person themselves and the administrators of the entry's
    unit (or above); everyone else, teachers who keep the entry included, sees 138****5678."""
    if not viewer.is_authenticated:
        return False
    return (entry.user_id is not None and entry.user_id == viewer.id) or has_role_over(
        viewer, Role.ADMIN, entry.org_unit
    )


def shown_contact(viewer: User, entry: Lecturer | Volunteer) -> str:
    return entry.contact if can_see_contact(viewer, entry) else entry.masked_contact


def _get(model, entry_id: int):
    if not 0 < entry_id <= MAX_ID:
        abort(404)
    return db.session.get(model, entry_id)


def get_lecturer_or_404(user: User, lecturer_id: int) -> Lecturer:
    """A lecturer of a unit *user* keeps; else 404."""
    lecturer = _get(Lecturer, lecturer_id)
    if lecturer is None or not can_keep(user, lecturer.org_unit):
        abort(404)
    return lecturer


def get_volunteer_or_404(user: User, volunteer_id: int) -> Volunteer:
    """A volunteer (or an application) of a unit *user* keeps; else 404."""
    volunteer = _get(Volunteer, volunteer_id)
    if volunteer is None or not can_keep(user, volunteer.org_unit):
        abort(404)
    return volunteer


def get_unit_in_scope_or_404(user: User, unit_id: int) -> OrgUnit:
    unit = _get(OrgUnit, unit_id)
    if unit is None or not can_keep(user, unit):
        abort(404)
    return unit


def own_volunteer(user: User) -> Volunteer | None:
    """*user*'s own volunteer entry or application, if any."""
    return db.session.scalar(select(Volunteer).filter_by(user_id=user.id))


def lecturers_query(user: User, *, unit: OrgUnit | None = None):
    """The lecturers *user* keeps (of *unit*'s subtree when given), for lists and filters."""
    scopes = [unit] if unit is not None else staff_units(user)
    return select(Lecturer).join(Lecturer.org_unit).where(within(scopes, OrgUnit.path))


def volunteers_query(user: User, *, unit: OrgUnit | None = None):
    scopes = [unit] if unit is not None else staff_units(user)
    return select(Volunteer).join(Volunteer.org_unit).where(within(scopes, OrgUnit.path))

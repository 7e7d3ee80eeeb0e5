"""Who may see and change what in accounts. A role granted over a unit covers its subtree."""

from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, false, or_, select

from lms.accounts.models import OrgUnit, Role, RoleGrant, User
from lms.extensions import db


def grant_units(user: User, role: Role) -> list[OrgUnit]:
    """The units over which *user* holds *role* (each covers its subtree)."""
    if not user.is_authenticated:
        return []
    return [grant.org_unit for grant in user.grants if grant.role is role]


def has_role_over(user: User, role: Role, unit: OrgUnit) -> bool:
    return any(scope.contains(unit) for scope in grant_units(user, role))


def is_admin(user: User) -> bool:
    return bool(grant_units(user, Role.ADMIN))


def is_county_admin(user: User) -> bool:
    return any(unit.parent_id is None for unit in grant_units(user, Role.ADMIN))


def within(scopes: list[OrgUnit], column: ColumnElement) -> ColumnElement[bool]:
    """An SQL condition: *column* (an ``OrgUnit.path``) lies in one of *scopes*."""
    if not scopes:
        return false()
    return or_(*(column.startswith(scope.path, autoescape=True) for scope in scopes))


def can_manage_unit(user: User, unit: OrgUnit) -> bool:
    return has_role_over(user, Role.ADMIN, unit)


def can_manage_user(actor: User, user: User) -> bool:
    """Administrators manage the people whose home unit lies in their scope."""
    return can_manage_unit(actor, user.org_unit)


def can_grant(actor: User, role: Role, unit: OrgUnit) -> bool:
    return can_manage_unit(actor, unit)


def can_withdraw(actor: User, grant: RoleGrant) -> bool:
    # Nobody withdraws their own grants, so an administrator cannot lock the unit out by mistake.
    return grant.user_id != actor.id and can_manage_unit(actor, grant.org_unit)


def get_unit_or_404(unit_id: int, *, for_manage: bool = False, user: User | None = None) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or (for_manage and not can_manage_unit(user, unit)):
        abort(404)
    return unit


def get_managed_user_or_404(actor: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can_manage_user(actor, user):
        abort(404)
    return user


def get_grant_or_404(actor: User, grant_id: int) -> RoleGrant:
    """A role grant of someone *actor* manages; else 404."""
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None or not can_manage_user(actor, grant.user):
        abort(404)
    return grant


def managed_units(user: User) -> list[OrgUnit]:
    """Every unit in *user*'s administrative scope, in tree order."""
    scopes = grant_units(user, Role.ADMIN)
    return list(
        db.session.scalars(
            select(OrgUnit).where(within(scopes, OrgUnit.path)).order_by(OrgUnit.code)
        )
    )

"""Who may see and change what in accounts. A role granted over a unit covers its subtree."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, false, or_, select

from lms.accounts.models import OrgUnit, Role, RoleGrant, User
from lms.core.errors import Forbidden
from lms.core.models import MAX_ID
from lms.core.time import local_date, utcnow
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


def require_admin(user: User) -> list[OrgUnit]:
    """*user*'s administrative scopes; a 403 (page or API, in Chinese) for anyone without."""
    scopes = grant_units(user, Role.ADMIN)
    if not scopes:
        raise Forbidden(_("只有管理员可以办理"))
    return scopes


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


def can_see_full_phone(viewer: User, user: User) -> bool:
    """DESIGN law 8: the owner, and the staff who register and look after residents in their
    scope (administrators and credit-bank registrars of a unit above the person's home) see the
    whole number; everyone else sees 138****5678."""
    if not viewer.is_authenticated:
        return False
    return viewer.id == user.id or any(
        has_role_over(viewer, role, user.org_unit) for role in (Role.ADMIN, Role.REGISTRAR)
    )


def shown_phone(viewer: User, user: User) -> str:
    return user.phone if can_see_full_phone(viewer, user) else user.masked_phone


AGE_BANDS = {
    "under18": (_l("18 岁以下"), 0, 17),
    "18-44": (_l("18–44 岁"), 18, 44),
    "45-59": (_l("45–59 岁"), 45, 59),
    "60plus": (_l("60 岁及以上"), 60, 200),
}


def people_query(actor: User, args) -> tuple[Select, dict[str, object]]:
    """The people *actor* manages, filtered by ``q`` (name or phone), ``unit`` (a unit in scope,
    with everything below it), ``role``, ``age`` (a band of AGE_BANDS, by birth year, or
    "unknown") and ``active`` ("1" / "0"). Returns the query and the filters as understood."""
    scopes = grant_units(actor, Role.ADMIN)
    query = select(User).join(User.org_unit).where(within(scopes, OrgUnit.path))
    shown: dict[str, object] = {}
    q = (args.get("q") or "").strip()[:40]
    if q:
        query = query.where(
            or_(User.name.contains(q, autoescape=True), User.phone.contains(q, autoescape=True))
        )
        shown["q"] = q
    unit_id = args.get("unit", type=int)
    if unit_id is not None and 0 < unit_id <= MAX_ID:
        unit = db.session.get(OrgUnit, unit_id)
        if unit is not None and can_manage_unit(actor, unit):
            query = query.where(OrgUnit.path.startswith(unit.path, autoescape=True))
            shown["unit"] = unit.id
    role = args.get("role")
    if role in {r.value for r in Role}:
        query = query.where(User.grants.any(RoleGrant.role == Role(role)))
        shown["role"] = role
    age = args.get("age")
    if age in AGE_BANDS:
        _label, low, high = AGE_BANDS[age]
        year = local_date(utcnow()).year
        query = query.where(User.birth_year.between(year - high, year - low))
        shown["age"] = age
    elif age == "unknown":
        query = query.where(User.birth_year.is_(None))
        shown["age"] = age
    active = args.get("active")
    if active in ("1", "0"):
        query = query.where(User.active.is_(active == "1"))
        shown["active"] = active
    return query.order_by(User.id.desc()), shown

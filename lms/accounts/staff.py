"""Staff actions on people: register a resident on their behalf (代注册), reset a password,
deactivate and reactivate, correct a person's details. Operations like those in operations.py
(they flush, never commit), used by the pages, the API and the import alike; every action is
audited.

Who may act (on top of the loaders' scope check, access.can_manage_user): nobody acts on
themselves here (their own account page is for that), and nobody acts on a person who holds a
role reaching beyond the actor's own administrative scope (a town administrator does not
deactivate the county administrator who happens to live in the town)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts import access, validation
from lms.accounts.models import ApiToken, Level, OrgUnit, Role, User
from lms.accounts.operations import _checked, audit, create_user
from lms.accounts.passwords import hash_one_time_password, new_one_time_password
from lms.accounts.sealing import seal
from lms.core.errors import Forbidden, field_error
from lms.core.time import utcnow
from lms.extensions import db


def check_may_act(actor: User, user: User) -> None:
    """Refuse (403) an action of *actor* on *user* that the scope rules forbid."""
    if not access.can_manage_user(actor, user):
        raise Forbidden(_("此人不在您的管理范围内"))
    if actor.id == user.id:
        raise Forbidden(_("不能对自己的账号执行此操作，请在“我的账号”中办理"))
    scopes = access.grant_units(actor, Role.ADMIN)
    county = access.is_county_admin(actor)
    for grant in user.grants:
        if grant.role is Role.RESIDENT:
            continue
        # A role at the actor's own unit (a peer administrator, the town's registrar) or above
        # is for a higher administrator; registrars are the county administrators' alone.
        strictly_below = any(
            s.contains(grant.org_unit) and grant.org_unit.id != s.id for s in scopes
        )
        if (grant.role is Role.REGISTRAR and not county) or not strictly_below:
            raise Forbidden(_("此人拥有超出您管理范围的角色，请由上级管理员办理"))


def check_village(actor: User, unit: OrgUnit | None, field: str = "org_unit_id") -> OrgUnit:
    """A village or community in *actor*'s scope, where residents live."""
    if unit is None or unit.level is not Level.VILLAGE:
        raise field_error(field, _("请选择具体的村（社区）"))
    if not access.can_manage_unit(actor, unit):
        raise field_error(field, _("该村（社区）不在您的管理范围内"), status=403)
    return unit


@dataclass
class Slip:
    """What a sign-in slip shows: who, where, the phone, the one-time password (shown once)."""

    user: User
    password: str


def register_on_behalf(
    actor: User,
    *,
    phone: str,
    name: str,
    org_unit: OrgUnit | None,
    birth_year: int | None = None,
    gender: str | None = None,
    id_number: str | None = None,
) -> Slip:
    """代注册: create a resident's account for them, with a one-time password that they replace at
    their first sign-in. A phone already registered is a 409."""
    unit = check_village(actor, org_unit)
    gender = _checked("gender", validation.clean_gender, gender)
    id_number = _checked("id_number", validation.check_id_number, id_number)
    password = new_one_time_password()
    user = create_user(
        phone=phone,
        name=name,
        password=password,
        org_unit=unit,
        birth_year=birth_year,
        granted_by=actor,
        one_time=True,
    )
    user.gender_sealed, user.id_number_sealed = seal(gender), seal(id_number)
    db.session.flush()
    audit(actor, "person_registered", subject=user, target=user, unit=unit.code)
    return Slip(user=user, password=password)


def reset_password(actor: User, user: User) -> Slip:
    """Give *user* a new one-time password; every session and API token of theirs ends."""
    check_may_act(actor, user)
    password = new_one_time_password()
    user.password_hash = hash_one_time_password(password)
    user.must_change_password = True
    sign_out_everywhere(user)
    audit(actor, "password_reset", subject=user, target=user)
    db.session.flush()
    return Slip(user=user, password=password)


def set_active(actor: User, user: User, active: bool) -> bool:
    """Deactivate (nobody signs in, every session and token ends; nothing is deleted) or
    reactivate *user*. Returns whether anything changed."""
    check_may_act(actor, user)
    if user.active == active:
        return False
    user.active = active
    if not active:
        sign_out_everywhere(user)
    audit(
        actor, "person_reactivated" if active else "person_deactivated", subject=user, target=user
    )
    db.session.flush()
    return True


def sign_out_everywhere(user: User) -> None:
    """End every session (a new nonce) and revoke every API token of *user*. The token cache of
    this process forgets at once (auth.py listens to the update); others within
    ``LMS_TOKEN_CACHE_S``."""
    user.new_session_nonce()
    now = utcnow()
    for token in db.session.scalars(select(ApiToken).filter_by(user_id=user.id, revoked_at=None)):
        token.revoked_at = now


def update_person(
    actor: User,
    user: User,
    *,
    name: str,
    org_unit: OrgUnit | None,
    birth_year: int | None,
    gender: str | None,
    id_number: str | None,
    action: str = "person_updated",
) -> list[str]:
    """Correct *user*'s name, village, birth year, gender and ID number; returns the names of
    the fields that changed (an unchanged form changes nothing and writes no audit entry)."""
    check_may_act(actor, user)
    name = _checked("name", validation.clean_name, name)
    birth_year = _checked("birth_year", validation.check_birth_year, birth_year)
    gender = _checked("gender", validation.clean_gender, gender)
    id_number = _checked("id_number", validation.check_id_number, id_number)
    unit = user.org_unit if org_unit == user.org_unit else check_village(actor, org_unit)
    changes: dict[str, object] = {}
    if name != user.name:
        changes["name"] = [user.name, name]
        user.name = name
    if unit.id != user.org_unit_id:
        changes["org_unit"] = [user.org_unit.code, unit.code]
        _move_resident_grant(user, unit)
        user.org_unit = unit
    if birth_year != user.birth_year:
        changes["birth_year"] = [user.birth_year, birth_year]
        user.birth_year = birth_year
    if gender != user.gender:
        changes["gender"] = True  # sealed like the ID number: not in the audit trail either
        user.gender_sealed = seal(gender)
    if id_number != user.id_number:
        changes["id_number"] = True  # never the number itself
        user.id_number_sealed = seal(id_number)
    if changes:
        db.session.flush()
        audit(actor, action, subject=user, target=user, changes=changes)
    return list(changes)


def _move_resident_grant(user: User, unit: OrgUnit) -> None:
    """The resident role follows the person's home unit."""
    for grant in user.grants:
        if grant.role is Role.RESIDENT and grant.org_unit_id == user.org_unit_id:
            grant.org_unit = unit

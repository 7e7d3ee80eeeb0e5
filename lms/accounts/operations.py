"""Every write of the accounts feature. Operations flush, never commit."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms.accounts import access, validation
from lms.accounts.models import (
    ApiToken,
    AuditEntry,
    Level,
    LoginAttempt,
    Notice,
    OrgUnit,
    Role,
    RoleGrant,
    SignUpAttempt,
    User,
)
from lms.accounts.passwords import (
    hash_one_time_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from lms.core import signals
from lms.core.errors import Conflict, Forbidden, OperationError, field_error
from lms.core.rows import add_unique
from lms.core.time import utcnow
from lms.extensions import db


def _checked(field: str, check, *args, **kwargs):
    try:
        return check(*args, **kwargs)
    except ValueError as error:
        raise field_error(field, str(error)) from None


# Org tree -----------------------------------------------------------------------------------


def create_org_unit(
    *, name: str, code: str, level: Level, parent: OrgUnit | None, population: int = 0
) -> OrgUnit:
    """Add a unit under *parent* (None only for the county itself)."""
    name = " ".join(name.split())
    if not name:
        raise field_error("name", _("请填写名称"))
    if population < 0:
        raise field_error("population", _("人口数不能为负数"))
    if parent is not None and parent.level.child is not level:
        raise field_error("level", _("这一级下面不能再设这种单位"))
    if db.session.scalar(select(OrgUnit.id).filter_by(code=code)):
        raise Conflict(_("单位编码已存在"), fields={"code": [_("单位编码已存在")]})
    if db.session.scalar(
        select(OrgUnit.id).where(
            OrgUnit.parent_id == (parent.id if parent else None), OrgUnit.name == name
        )
    ):
        raise Conflict(_("同一上级下已有同名单位"), fields={"name": [_("同一上级下已有同名单位")]})
    unit = OrgUnit(name=name, code=code, level=level, parent=parent, population=population)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()
    return unit


def update_org_unit(unit: OrgUnit, *, name: str, population: int) -> OrgUnit:
    name = " ".join(name.split())
    if not name:
        raise field_error("name", _("请填写名称"))
    if population < 0:
        raise field_error("population", _("人口数不能为负数"))
    clash = db.session.scalar(
        select(OrgUnit.id).where(
            OrgUnit.parent_id == unit.parent_id, OrgUnit.name == name, OrgUnit.id != unit.id
        )
    )
    if clash:
        raise Conflict(_("同一上级下已有同名单位"), fields={"name": [_("同一上级下已有同名单位")]})
    unit.name, unit.population = name, population
    db.session.flush()
    return unit


def next_child_code(parent: OrgUnit) -> str:
    """The next free code below *parent* (three digits per level, like the statistical codes)."""
    count = db.session.scalar(
        select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id == parent.id)
    )
    number = count + 1
    while db.session.scalar(select(OrgUnit.id).filter_by(code=f"{parent.code}{number:03d}")):
        number += 1
    return f"{parent.code}{number:03d}"


# People -------------------------------------------------------------------------------------


def create_user(
    *,
    phone: str,
    name: str,
    password: str,
    org_unit: OrgUnit | None,
    birth_year: int | None = None,
    roles: tuple[Role, ...] = (Role.RESIDENT,),
    granted_by: User | None = None,
    one_time: bool = False,
) -> User:
    """Create an account after checking every field; a duplicate phone is a 409. *one_time*: the
    password was made by staff (a one-time password, to be replaced at the first sign-in)."""
    phone = _checked("phone", validation.normalize_phone, phone)
    name = _checked("name", validation.clean_name, name)
    if not one_time:
        password = _checked("password", validation.check_password, password, phone=phone)
    birth_year = _checked("birth_year", validation.check_birth_year, birth_year)
    if org_unit is None:
        raise field_error("org_unit_id", _("请选择所在村（社区）"))
    if db.session.scalar(select(User.id).filter_by(phone=phone)):
        raise Conflict(
            _("该手机号已注册，请直接登录"), fields={"phone": [_("该手机号已注册，请直接登录")]}
        )
    user = User(
        phone=phone,
        name=name,
        password_hash=hash_one_time_password(password) if one_time else hash_password(password),
        must_change_password=one_time,
        org_unit=org_unit,
        birth_year=birth_year,
    )
    for role in roles:
        user.grants.append(RoleGrant(role=role, org_unit=org_unit, granted_by=granted_by))
    if not add_unique(user):
        # Another request registered the same phone between our check and our insert.
        raise Conflict(
            _("该手机号已注册，请直接登录"), fields={"phone": [_("该手机号已注册，请直接登录")]}
        )
    signals.user_created.send(user)
    return user


@dataclass
class Registration:
    """What a self sign-up came to: the new *user*, or a *refusal* (the phone is registered)
    that the caller commits (the attempt counts) and then answers with."""

    user: User | None = None
    refusal: OperationError | None = None


def register_resident(
    *,
    phone: str,
    password: str,
    name: str,
    org_unit: OrgUnit | None,
    birth_year: int | None,
    address: str,
) -> Registration:
    """Self sign-up: residents register in their home village or community. Sign-ups are
    limited per address and per number block; a sign-up for a phone already registered costs
    what a wrong password for it costs (it counts against the same sign-in limits), so phone
    numbers are no cheaper to test here than on the sign-in page."""
    if org_unit is not None and org_unit.level is not Level.VILLAGE:
        raise field_error("org_unit_id", _("请选择具体的村（社区）"))
    try:
        normalised = validation.normalize_phone(phone or "")
    except ValueError:
        normalised = None  # create_user says what is wrong with it
    address = (address or "unknown")[:64]
    now = utcnow()
    if normalised is not None:
        refusal = _sign_up_refusal(normalised, address, now)
        if refusal is not None:
            raise RateLimited(refusal)
    try:
        with db.session.begin_nested():
            user = create_user(
                phone=phone, name=name, password=password, org_unit=org_unit, birth_year=birth_year
            )
    except Conflict as registered:
        db.session.add(
            LoginAttempt(phone=normalised, address=address, succeeded=False, attempted_at=now)
        )
        db.session.add(
            SignUpAttempt(address=address, phone_prefix=normalised[:7], attempted_at=now)
        )
        db.session.flush()
        return Registration(refusal=registered)
    db.session.add(SignUpAttempt(address=address, phone_prefix=user.phone[:7], attempted_at=now))
    db.session.flush()
    return Registration(user=user)


def _sign_up_refusal(phone: str, address: str, now) -> str | None:
    config = current_app.config
    window = now - timedelta(seconds=config["LMS_SIGNUP_WINDOW_S"])
    recent = (
        select(func.count()).select_from(SignUpAttempt).where(SignUpAttempt.attempted_at >= window)
    )
    by_address = db.session.scalar(recent.where(SignUpAttempt.address == address))
    by_block = db.session.scalar(recent.where(SignUpAttempt.phone_prefix == phone[:7]))
    if (
        by_address >= config["LMS_SIGNUP_MAX_PER_ADDRESS"]
        or by_block >= config["LMS_SIGNUP_MAX_PER_PREFIX"]
    ):
        return _("注册太频繁，请稍后再试")
    return _sign_in_refusal(phone, address, now)


class RateLimited(OperationError):
    status = 429
    code = "rate_limited"


def authenticate(phone: str, password: str, *, address: str) -> User | None:
    """The user whose phone and password these are, or None. Every attempt is recorded. Before
    checking, too many recent failures raise RateLimited, counted so that a stranger cannot lock
    the owner out: failures of this phone *from this address* (since its last success there),
    failures from this address for any phone, and, when a phone has many failures from
    everywhere, one attempt per interval from addresses where it never signed in (the owner's
    usual address is not slowed)."""
    typed = (phone or "").strip()[:40]
    try:
        phone, phone_ok = validation.normalize_phone(typed), True
    except ValueError:
        phone, phone_ok = typed, False
    address = (address or "unknown")[:64]
    now = utcnow()
    refusal = _sign_in_refusal(phone, address, now)
    if refusal is not None:
        raise RateLimited(refusal)
    user = db.session.scalar(select(User).filter_by(phone=phone)) if phone_ok else None
    valid = verify_password(user.password_hash if user else None, password or "")
    succeeded = bool(user and valid and user.active)
    db.session.add(
        LoginAttempt(phone=phone, address=address, succeeded=succeeded, attempted_at=now)
    )
    if succeeded and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.flush()
    return user if succeeded else None


def _sign_in_refusal(phone: str, address: str, now) -> str | None:
    config = current_app.config
    window = now - timedelta(seconds=config["LMS_LOGIN_WINDOW_S"])
    minutes = max(1, config["LMS_LOGIN_WINDOW_S"] // 60)
    locked = _("登录失败次数过多，请 %(n)s 分钟后再试", n=minutes)
    here = LoginAttempt.address == address
    if _failures(here, window) >= config["LMS_LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        return locked
    this_phone = LoginAttempt.phone == phone
    if (
        _failures(this_phone & here, window, since_success=True)
        >= config["LMS_LOGIN_MAX_FAILURES_PER_PHONE"]
    ):
        return locked
    if _failures(this_phone, window, since_success=True) < config["LMS_LOGIN_SLOW_AFTER"]:
        return None
    usual_since = now - timedelta(days=config["LMS_LOGIN_USUAL_ADDRESS_DAYS"])
    usual = db.session.scalar(
        select(LoginAttempt.id)
        .where(this_phone, here, LoginAttempt.succeeded.is_(True))
        .where(LoginAttempt.attempted_at >= usual_since)
        .limit(1)
    )
    if usual is not None:
        return None
    last = db.session.scalar(select(func.max(LoginAttempt.attempted_at)).where(this_phone))
    wait = config["LMS_LOGIN_SLOW_INTERVAL_S"] - (now - last).total_seconds() if last else 0
    if wait > 0:
        return _("这个手机号最近登录失败较多，请 %(n)s 秒后再试", n=max(1, math.ceil(wait)))
    return None


def _failures(condition, window_start, *, since_success: bool = False) -> int:
    """Failed attempts matching *condition* in the window (after the last success, if asked)."""
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            condition, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= window_start
        )
    )
    if since_success:
        last_success = (
            select(func.max(LoginAttempt.attempted_at))
            .where(condition, LoginAttempt.succeeded.is_(True))
            .scalar_subquery()
        )
        query = query.where(LoginAttempt.attempted_at > func.coalesce(last_success, window_start))
    return db.session.scalar(query)


def change_password(user: User, *, current: str, new: str) -> None:
    """Change *user*'s password; every other session and API token is signed out."""
    if not verify_password(user.password_hash, current or ""):
        raise field_error("current", _("当前密码不正确"))
    new = _checked("new", validation.check_password, new, phone=user.phone)
    if verify_password(user.password_hash, new):
        raise field_error("new", _("新密码不能与当前密码相同"))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.new_session_nonce()
    now = utcnow()
    for token in db.session.scalars(select(ApiToken).filter_by(user=user, revoked_at=None)):
        token.revoked_at = now
    db.session.flush()


# API tokens ---------------------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token for *user*; the raw token is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        token_hash=_digest(raw),
        expires_at=utcnow() + timedelta(seconds=current_app.config["LMS_TOKEN_TTL_S"]),
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


def find_token(raw: str) -> ApiToken | None:
    return db.session.scalar(select(ApiToken).filter_by(token_hash=_digest(raw)))


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or utcnow()
    db.session.flush()


# Roles --------------------------------------------------------------------------------------


def grant_role(actor: User | None, user: User, role: Role, unit: OrgUnit) -> RoleGrant:
    """Grant *role* over *unit*, by *actor* (None: the command line). The caller has checked
    that *actor* may grant roles there. Nobody grants a role to themselves, and only a county
    administrator grants the registrar role (registrars certify credits). Granting twice returns
    the existing grant. The grant is audited."""
    if actor is not None:
        if actor.id == user.id:
            raise Forbidden(_("不能给自己授予角色"))
        if role is Role.REGISTRAR and not access.is_county_admin(actor):
            raise Forbidden(_("只有县级管理员可以授予学分银行专员角色"))
    existing = db.session.scalar(select(RoleGrant).filter_by(user=user, role=role, org_unit=unit))
    if existing is not None:
        return existing
    grant = RoleGrant(user=user, role=role, org_unit=unit, granted_by=actor)
    db.session.add(grant)
    db.session.flush()
    audit(actor, "role_granted", subject=user, target=grant, role=role.value, unit=unit.code)
    return grant


def withdraw_grant(actor: User | None, grant: RoleGrant) -> None:
    """Withdraw *grant*, by *actor* (None: the command line); the caller has checked the scope.
    Nobody withdraws their own grant, so an administrator cannot lock a unit out by mistake.
    The withdrawal is audited (the grant row itself is deleted)."""
    if actor is not None and grant.user_id == actor.id:
        raise Forbidden(_("不能撤销这项授权"))
    audit(
        actor,
        "role_withdrawn",
        subject=grant.user,
        target=grant,
        role=grant.role.value,
        unit=grant.org_unit.code,
    )
    db.session.delete(grant)
    db.session.flush()


def audit(
    actor: User | None,
    action: str,
    *,
    subject: User | None = None,
    target: object | None = None,
    **detail: object,
) -> AuditEntry:
    """Record that *actor* (None: the system or the command line) did *action* to *subject*
    (a person) and *target* (any row with an id), with *detail*, from the request's address."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_user_id=subject.id if subject is not None else None,
        object_type=type(target).__tablename__ if target is not None else None,
        object_id=getattr(target, "id", None),
        detail=detail,
        address=(request.remote_addr or None) if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


# Notices -------------------------------------------------------------------------------------


def notify(user: User, title: str, *, body: str = "", link: str | None = None) -> Notice:
    """Leave an in-site notice for *user* (shown in the header until read)."""
    notice = Notice(user=user, title=title[:200], body=body, link=link)
    db.session.add(notice)
    db.session.flush()
    return notice


def mark_notices_read(user: User) -> int:
    """Mark every unread notice of *user* read; returns how many there were."""
    result = db.session.execute(
        update(Notice)
        .where(Notice.user_id == user.id, Notice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# Preferences ----------------------------------------------------------------------------------


def set_elderly_mode(user: User, text_px: int | None) -> None:
    """Remember 长辈模式 on *user*'s account: the main text size in px (20–30), None for off."""
    if text_px is not None and not 20 <= text_px <= 30:
        raise field_error("mode", _("长辈模式的字号只能在 20 到 30 之间"))
    user.elderly_text_px = text_px
    db.session.flush()

"""JSON views of accounts under /api/v1."""

from __future__ import annotations

from datetime import datetime

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.accounts import access, api_bp, operations, staff
from lms.accounts.models import OrgUnit, Role, User
from lms.core.api import ApiError, Id, Page, Schema, endpoint, not_found
from lms.core.paging import paginate
from lms.extensions import db


class TokenIn(Schema):
    phone: str = Field(max_length=40)
    password: str = Field(max_length=256)


class ResidentIn(Schema):
    phone: str = Field(max_length=40)
    password: str = Field(max_length=256)
    name: str = Field(max_length=100)
    org_unit_id: Id
    birth_year: int | None = Field(None, ge=0, le=9999)


class UnitRef(BaseModel):
    id: int
    name: str
    level: str
    full_name: str


class RoleOut(BaseModel):
    role: str
    org_unit_id: int


class UserOut(BaseModel):
    id: int
    name: str
    phone: str = Field(description="masked, e.g. 138****5678")
    org_unit: UnitRef
    roles: list[RoleOut]


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class OrgUnitNode(BaseModel):
    id: int
    name: str
    level: str
    population: int
    children: list[OrgUnitNode] = []


def unit_ref(unit: OrgUnit) -> UnitRef:
    return UnitRef(id=unit.id, name=unit.name, level=unit.level.value, full_name=unit.full_name)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        phone=user.masked_phone,
        org_unit=unit_ref(user.org_unit),
        roles=[
            RoleOut(role=grant.role.value, org_unit_id=grant.org_unit_id) for grant in user.grants
        ],
    )


@endpoint(
    api_bp,
    "/auth/tokens",
    "POST",
    summary="用手机号和密码换取令牌",
    body=TokenIn,
    response=TokenOut,
    status=201,
    auth=False,
)
def create_token(body: TokenIn):
    user = operations.authenticate(body.phone, body.password, address=request.remote_addr or "")
    db.session.commit()
    if user is None:
        raise ApiError(401, "invalid_credentials", _("手机号或密码不正确"))
    raw, token = operations.issue_token(user)
    db.session.commit()
    return TokenOut(token=raw, expires_at=token.expires_at, user=user_out(user)).model_dump(
        mode="json"
    ), 201


@endpoint(api_bp, "/auth/tokens/current", "DELETE", summary="注销当前令牌", status=204)
def delete_token():
    token = g.get("api_token")
    if token is None:
        raise ApiError(400, "no_token", _("当前请求没有使用令牌"))
    operations.revoke_token(token)
    db.session.commit()
    return "", 204


@endpoint(
    api_bp,
    "/residents",
    "POST",
    summary="居民自助注册",
    body=ResidentIn,
    response=UserOut,
    status=201,
    auth=False,
)
def create_resident(body: ResidentIn):
    registration = operations.register_resident(
        phone=body.phone,
        password=body.password,
        name=body.name,
        org_unit=db.session.get(OrgUnit, body.org_unit_id),
        birth_year=body.birth_year,
        address=request.remote_addr or "",
    )
    db.session.commit()  # a refused sign-up counts too
    if registration.refusal is not None:
        raise registration.refusal
    return user_out(registration.user).model_dump(mode="json"), 201


@endpoint(api_bp, "/me", "GET", summary="当前用户", response=UserOut)
def me():
    return user_out(current_user).model_dump(mode="json")


@endpoint(
    api_bp,
    "/org-units",
    "GET",
    summary="县、镇（街道）、村（社区）三级组织树",
    response=OrgUnitNode,
    auth=False,
)
def org_units():
    units = db.session.scalars(select(OrgUnit).order_by(OrgUnit.code)).all()
    nodes = {
        unit.id: OrgUnitNode(
            id=unit.id, name=unit.name, level=unit.level.value, population=unit.population
        )
        for unit in units
    }
    roots = []
    for unit in units:
        (nodes[unit.parent_id].children if unit.parent_id in nodes else roots).append(
            nodes[unit.id]
        )
    if not roots:
        raise not_found()
    return roots[0].model_dump(mode="json")


# Staff actions on people --------------------------------------------------------------------


class PersonOut(BaseModel):
    id: int
    name: str
    phone: str = Field(description="whole for the staff of the person's units (law 8), else masked")
    org_unit: UnitRef
    roles: list[RoleOut]
    birth_year: int | None
    gender: str | None
    id_number: str | None = Field(description="masked: 510521********123X")
    active: bool
    must_change_password: bool


class PeopleQuery(Page):
    q: str | None = Field(None, max_length=40)
    unit: Id | None = None
    role: Role | None = None
    age: str | None = Field(None, pattern="^(under18|18-44|45-59|60plus|unknown)$")
    active: bool | None = None


class PeopleOut(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    per_page: int


class PersonIn(Schema):
    name: str = Field(max_length=100)
    org_unit_id: Id
    birth_year: int | None = Field(None, ge=0, le=9999)
    gender: str | None = Field(None, max_length=10)
    id_number: str | None = Field(None, max_length=30)


class NewPersonIn(PersonIn):
    phone: str = Field(max_length=40)


class SlipOut(BaseModel):
    person: PersonOut
    one_time_password: str = Field(description="shown once; to be replaced at the first sign-in")


class PasswordIn(Schema):
    current: str = Field(max_length=256)
    new: str = Field(max_length=256)


def person_out(user: User) -> PersonOut:
    return PersonOut(
        id=user.id,
        name=user.name,
        phone=access.shown_phone(current_user, user),
        org_unit=unit_ref(user.org_unit),
        roles=[RoleOut(role=g.role.value, org_unit_id=g.org_unit_id) for g in user.grants],
        birth_year=user.birth_year,
        gender=user.gender,
        id_number=user.masked_id_number or None,
        active=user.active,
        must_change_password=user.must_change_password,
    )


def _person_or_404(user_id: int) -> User:
    access.require_admin(current_user)
    user = db.session.get(User, user_id)
    if user is None or not access.can_manage_user(current_user, user):
        raise not_found()
    return user


@endpoint(
    api_bp, "/people", "GET", summary="管理范围内的人员", query=PeopleQuery, response=PeopleOut
)
def people(query: PeopleQuery):
    from werkzeug.datastructures import MultiDict

    access.require_admin(current_user)
    args = {
        k: v for k, v in query.model_dump(exclude={"page", "per_page"}).items() if v is not None
    }
    if "active" in args:
        args["active"] = "1" if args["active"] else "0"
    if "role" in args:
        args["role"] = args["role"].value
    select_people, _shown = access.people_query(current_user, MultiDict(args))
    found = paginate(select_people, page=query.page, per_page=query.per_page)
    return PeopleOut(
        items=[person_out(user) for user in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/people",
    "POST",
    summary="代居民注册（返回一次性密码）",
    body=NewPersonIn,
    response=SlipOut,
    status=201,
)
def register_person(body: NewPersonIn):
    access.require_admin(current_user)
    slip = staff.register_on_behalf(
        current_user,
        phone=body.phone,
        name=body.name,
        org_unit=db.session.get(OrgUnit, body.org_unit_id),
        birth_year=body.birth_year,
        gender=body.gender,
        id_number=body.id_number,
    )
    db.session.commit()
    out = SlipOut(person=person_out(slip.user), one_time_password=slip.password)
    return out.model_dump(mode="json"), 201


@endpoint(api_bp, "/people/<int:user_id>", "GET", summary="一位人员", response=PersonOut)
def person(user_id: int):
    return person_out(_person_or_404(user_id)).model_dump(mode="json")


@endpoint(
    api_bp,
    "/people/<int:user_id>",
    "PATCH",
    summary="更正姓名、村（社区）、出生年份、性别、身份证号",
    body=PersonIn,
    response=PersonOut,
)
def update_person(user_id: int, body: PersonIn):
    user = _person_or_404(user_id)
    sent = body.model_fields_set  # a field left out keeps its value; the masked number too
    id_number = body.id_number if "id_number" in sent else user.id_number
    if id_number is not None and id_number == user.masked_id_number:
        id_number = user.id_number
    staff.update_person(
        current_user,
        user,
        name=body.name,
        org_unit=db.session.get(OrgUnit, body.org_unit_id),
        birth_year=body.birth_year if "birth_year" in sent else user.birth_year,
        gender=body.gender if "gender" in sent else user.gender,
        id_number=id_number,
    )
    db.session.commit()
    return person_out(user).model_dump(mode="json")


@endpoint(
    api_bp,
    "/people/<int:user_id>/password-reset",
    "POST",
    summary="重置密码（返回一次性密码；此人的登录和令牌全部失效）",
    response=SlipOut,
)
def reset_person_password(user_id: int):
    user = _person_or_404(user_id)
    slip = staff.reset_password(current_user, user)
    db.session.commit()
    return SlipOut(person=person_out(user), one_time_password=slip.password).model_dump(mode="json")


@endpoint(
    api_bp,
    "/people/<int:user_id>/deactivate",
    "POST",
    summary="停用账号（不删除任何数据）",
    response=PersonOut,
)
def deactivate_person(user_id: int):
    user = _person_or_404(user_id)
    staff.set_active(current_user, user, False)
    db.session.commit()
    return person_out(user).model_dump(mode="json")


@endpoint(
    api_bp, "/people/<int:user_id>/reactivate", "POST", summary="恢复账号", response=PersonOut
)
def reactivate_person(user_id: int):
    user = _person_or_404(user_id)
    staff.set_active(current_user, user, True)
    db.session.commit()
    return person_out(user).model_dump(mode="json")


@endpoint(
    api_bp,
    "/me/password",
    "POST",
    summary="修改自己的密码（其他登录和令牌全部失效）",
    body=PasswordIn,
    status=204,
)
def change_my_password(body: PasswordIn):
    operations.change_password(current_user, current=body.current, new=body.new)
    db.session.commit()
    return "", 204

"""JSON views of accounts under /api/v1."""

from __future__ import annotations

from datetime import datetime

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.accounts import api_bp, operations
from lms.accounts.models import OrgUnit, User
from lms.core.api import ApiError, Id, Schema, endpoint, not_found
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

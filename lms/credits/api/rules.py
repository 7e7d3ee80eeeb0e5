"""Conversion rules: public to read and to preview; county registrars publish and change them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from lms.core.api import ApiError, Id, Schema, endpoint
from lms.core.time import local_date, utcnow
from lms.courses.models import Category
from lms.credits import access, api_bp, operations
from lms.credits.api.accounts import credits_number
from lms.credits.models import ConversionRule, OutcomeKind, RuleMode, TrustedIssuer
from lms.extensions import db

Kind = Literal["online_course", "training", "certificate", "volunteer", "activity", "transfer"]


class RuleOut(BaseModel):
    id: int
    family_id: int
    version: int
    kind: str
    category_id: int | None
    mode: str
    hours_per_credit: float | None
    fixed_credits: float | None
    yearly_cap: float | None
    valid_from: date | None
    valid_until: date | None
    note: str
    current: bool
    description: str
    issuer_id: int | None = None
    achievement_type: str | None = None
    credit_ratio: float | None = None


def _rule_out(rule: ConversionRule) -> dict:
    return RuleOut(
        id=rule.id,
        family_id=rule.family_id,
        version=rule.version,
        kind=str(rule.kind),
        category_id=rule.category_id,
        mode=str(rule.mode),
        hours_per_credit=credits_number(rule.hours_per_credit),
        fixed_credits=credits_number(rule.fixed_credits),
        yearly_cap=credits_number(rule.yearly_cap),
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        note=rule.note,
        current=rule.current,
        description=operations.describe_rule(rule),
        issuer_id=rule.issuer_id,
        achievement_type=rule.achievement_type,
        credit_ratio=credits_number(rule.credit_ratio),
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/credit-rules",
    "GET",
    summary="现行折算规则（未配置的类别按 16 学时 = 1 学分）",
    auth=False,
)
def list_rules():
    return {
        "default": operations.describe_rule(None),
        "items": [_rule_out(rule) for rule in operations.current_rules()],
    }


class RuleIn(Schema):
    kind: Kind
    category_id: Id | None = None
    mode: Literal["per_hours", "fixed", "source"]
    issuer_id: Id | None = Field(None, description="外部转入：只适用于这个可信签发单位")
    achievement_type: str | None = Field(
        None,
        max_length=40,
        description="外部转入：只适用于这种成果类型（Open Badges achievementType）",
    )
    credit_ratio: Decimal | None = Field(
        None, allow_inf_nan=False, description="按原单位学分折算（mode=source）的倍数"
    )
    hours_per_credit: Decimal | None = Field(None, allow_inf_nan=False)
    fixed_credits: Decimal | None = Field(None, allow_inf_nan=False)
    yearly_cap: Decimal | None = Field(None, allow_inf_nan=False)
    valid_from: date | None = None
    valid_until: date | None = None
    note: str = Field("", max_length=200)


def _category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = db.session.get(Category, category_id)
    if category is None:
        message = _("没有这个课程分类")
        raise ApiError(422, "validation_error", message, {"category_id": [message]})
    return category


def _save_rule(body: RuleIn, replaces: ConversionRule | None) -> ConversionRule:
    return operations.save_rule(
        current_user,
        kind=OutcomeKind(body.kind),
        category=_category(body.category_id),
        mode=RuleMode(body.mode),
        hours_per_credit=body.hours_per_credit,
        fixed_credits=body.fixed_credits,
        yearly_cap=body.yearly_cap,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        note=body.note,
        replaces=replaces,
        issuer=_issuer(body.issuer_id),
        achievement_type=body.achievement_type,
        credit_ratio=body.credit_ratio,
    )


def _issuer(issuer_id: int | None) -> TrustedIssuer | None:
    if issuer_id is None:
        return None
    issuer = db.session.get(TrustedIssuer, issuer_id)
    if issuer is None:
        message = _("没有这个可信签发单位")
        raise ApiError(422, "validation_error", message, {"issuer_id": [message]})
    return issuer


@endpoint(
    api_bp,
    "/credit-rules",
    "POST",
    summary="县级专员：发布折算规则",
    body=RuleIn,
    response=RuleOut,
    status=201,
)
def create_rule(body: RuleIn):
    access.require_rule_keeper(current_user)
    rule = _save_rule(body, None)
    db.session.commit()
    return _rule_out(rule), 201


@endpoint(
    api_bp,
    "/credit-rules/<int:rule_id>",
    "PUT",
    summary="县级专员：修改规则（生成新版本，已入账学分不变）",
    body=RuleIn,
    response=RuleOut,
    status=201,
)
def update_rule(rule_id: int, body: RuleIn):
    rule = access.get_rule_or_404(rule_id)
    access.require_rule_keeper(current_user)
    new = _save_rule(body, rule)
    db.session.commit()
    return _rule_out(new), 201


class PreviewQuery(Schema):
    kind: Kind
    hours: Decimal = Field(gt=0, le=10000, allow_inf_nan=False)
    category_id: Id | None = None
    occurred_on: date | None = None


class PreviewOut(BaseModel):
    credits: float
    computed: float
    capped: bool
    rule_id: int | None
    rule: str


@endpoint(
    api_bp,
    "/credit-rules/preview",
    "GET",
    summary="预览：一项成果按现行规则可折算多少学分（登录后计入本人年度上限）",
    query=PreviewQuery,
    response=PreviewOut,
    auth=False,
)
def preview(query: PreviewQuery):
    account = operations.account_for(current_user) if current_user.is_authenticated else None
    conversion = operations.convert(
        OutcomeKind(query.kind),
        query.hours,
        category_id=query.category_id,
        on=query.occurred_on or local_date(utcnow()),
        account=account,
    )
    return PreviewOut(
        credits=float(conversion.awarded),
        computed=float(conversion.computed),
        capped=conversion.capped,
        rule_id=conversion.rule.id if conversion.rule else None,
        rule=conversion.rule_text,
    ).model_dump(mode="json")

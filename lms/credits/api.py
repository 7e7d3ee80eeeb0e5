"""JSON views of the credit bank and the learning file under /api/v1 (API.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.core.api import ApiError, Id, Schema, endpoint, json_body, not_found
from lms.core.time import local_date, utcnow
from lms.courses.models import Category
from lms.credits import access, api_bp, operations, verification
from lms.credits.learning_file import ItemKind, build
from lms.credits.models import (
    ConversionRule,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    OutcomeStatus,
    RuleMode,
    Transcript,
)
from lms.credits.views import transcript_json, transcript_pdf
from lms.credits.xapi import statements
from lms.extensions import db


def _credits(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# Learning file ---------------------------------------------------------------------------------


class FileQuery(Schema):
    year: int | None = Field(None, ge=2000, le=2100)
    kind: Literal["enrolment", "lesson", "course", "outcome", "credit"] | None = None
    format: Literal["json", "xapi"] = "json"


class FileItemOut(BaseModel):
    occurred_at: datetime
    kind: str
    title: str
    hours: float | None
    credits: float | None
    detail: str


class YearTotalOut(BaseModel):
    year: int
    hours: float
    credits: float
    records: int


class LearningFileOut(BaseModel):
    account_no: str | None
    items: list[FileItemOut]
    totals: list[YearTotalOut]


@endpoint(
    api_bp,
    "/me/learning-file",
    "GET",
    summary="我的学习档案（?format=xapi 返回 xAPI 语句列表）",
    query=FileQuery,
    response=LearningFileOut,
)
def my_learning_file(query: FileQuery):
    file = build(
        current_user._get_current_object(),
        year=query.year,
        kind=ItemKind(query.kind) if query.kind else None,
    )
    if query.format == "xapi":
        return statements(file)
    return LearningFileOut(
        account_no=file.account.account_no if file.account else None,
        items=[
            FileItemOut(
                occurred_at=item.occurred_at,
                kind=str(item.kind),
                title=item.title,
                hours=_credits(item.hours),
                credits=_credits(item.credits),
                detail=item.detail,
            )
            for item in file.items
        ],
        totals=[
            YearTotalOut(
                year=t.year, hours=float(t.hours), credits=float(t.credits), records=t.records
            )
            for t in file.totals
        ],
    ).model_dump(mode="json")


# Credits ---------------------------------------------------------------------------------------


class EntryOut(BaseModel):
    id: int
    seq: int
    occurred_at: datetime
    kind: str
    amount: float
    balance: float
    outcome: int | None
    reverses: int | None
    memo: str


class CreditsOut(BaseModel):
    account_no: str | None
    balance: float
    entries: list[EntryOut]


def _entry_out(entry: LedgerEntry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        seq=entry.seq,
        occurred_at=entry.occurred_at,
        kind=str(entry.kind),
        amount=float(entry.amount),
        balance=float(entry.balance),
        outcome=entry.outcome_id,
        reverses=entry.reverses_id,
        memo=entry.memo,
    )


@endpoint(api_bp, "/me/credits", "GET", summary="我的学分账户与流水", response=CreditsOut)
def my_credits():
    account = operations.account_for(current_user)
    entries = operations.entries_newest_first(account)
    return CreditsOut(
        account_no=account.account_no if account else None,
        balance=float(account.balance) if account else 0.0,
        entries=[_entry_out(entry) for entry in entries],
    ).model_dump(mode="json")


# Outcomes --------------------------------------------------------------------------------------


class EvidenceOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class OutcomeOut(BaseModel):
    id: int
    user_id: int
    kind: str
    title: str
    hours: float
    occurred_on: date
    issuer: str
    status: str
    credits: float | None
    reason: str
    decided_at: datetime | None
    certifying_unit: str | None
    evidence: list[EvidenceOut]


def _outcome_out(outcome: LearningOutcome) -> dict:
    return OutcomeOut(
        id=outcome.id,
        user_id=outcome.user_id,
        kind=str(outcome.kind),
        title=outcome.title,
        hours=float(outcome.hours),
        occurred_on=outcome.occurred_on,
        issuer=outcome.issuer,
        status=str(outcome.status),
        credits=_credits(outcome.credits),
        reason=outcome.reason,
        decided_at=outcome.decided_at,
        certifying_unit=outcome.certifying_unit.name if outcome.certifying_unit else None,
        evidence=[
            EvidenceOut(
                id=item.id,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                url=url_for("credits.evidence", evidence_id=item.id, _external=True),
            )
            for item in outcome.evidence
        ],
    ).model_dump(mode="json")


def _form_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        message = _("日期格式应为 YYYY-MM-DD")
        raise ApiError(422, "validation_error", message, {"occurred_on": [message]}) from None


@endpoint(
    api_bp,
    "/me/outcomes",
    "POST",
    summary="申报线下学习成果（multipart，带证明材料），待专员认证",
    response=OutcomeOut,
    status=201,
    multipart={
        "kind": "training | certificate | volunteer | activity",
        "title": "名称",
        "hours": "学时（0.1–24）",
        "occurred_on": "日期 YYYY-MM-DD",
        "issuer": "发证或组织单位",
        "description": "补充说明（选填）",
        "evidence": "照片或 PDF（可多个）",
    },
)
def submit_outcome():
    if request.mimetype != "multipart/form-data":
        raise ApiError(
            415, "unsupported_media_type", _("请以 multipart/form-data 提交，并附上证明材料")
        )
    form = request.form
    kind = form.get("kind", "")
    if kind not in {k.value for k in OutcomeKind.offline()}:
        message = _("请选择成果类别")
        raise ApiError(422, "validation_error", message, {"kind": [message]})
    outcome = operations.submit_outcome(
        current_user,
        kind=OutcomeKind(kind),
        title=form.get("title", ""),
        hours=form.get("hours", ""),
        occurred_on=_form_date(form.get("occurred_on")),
        issuer=form.get("issuer", ""),
        description=form.get("description", ""),
        evidence=[(f.stream, f.filename) for f in request.files.getlist("evidence") if f.filename],
    )
    db.session.commit()
    return _outcome_out(outcome), 201


@endpoint(api_bp, "/me/outcomes", "GET", summary="我申报和获得的学习成果")
def my_outcomes():
    outcomes = db.session.scalars(
        select(LearningOutcome)
        .filter_by(user_id=current_user.id)
        .order_by(LearningOutcome.id.desc())
    ).all()
    return {"items": [_outcome_out(outcome) for outcome in outcomes]}


class OutcomeQuery(Schema):
    status: Literal["pending", "certified", "rejected", "revoked"] = "pending"


@endpoint(
    api_bp, "/outcomes", "GET", summary="专员：辖区内的线下成果（默认待认证）", query=OutcomeQuery
)
def outcomes(query: OutcomeQuery):
    if not access.is_registrar(current_user):
        raise ApiError(403, "forbidden", _("您不是学分银行专员"))
    rows = access.review_queue(current_user, OutcomeStatus(query.status))
    return {"items": [_outcome_out(outcome) for outcome in rows]}


def _outcome_or_error(outcome_id: int) -> LearningOutcome:
    outcome = db.session.get(LearningOutcome, outcome_id)
    if outcome is None or not access.can_view_outcome(current_user, outcome):
        raise not_found()
    return outcome


@endpoint(api_bp, "/outcomes/<int:outcome_id>", "GET", summary="一项学习成果", response=OutcomeOut)
def get_outcome(outcome_id: int):
    return _outcome_out(_outcome_or_error(outcome_id))


@endpoint(
    api_bp,
    "/outcomes/<int:outcome_id>/certify",
    "POST",
    summary="专员：认证一项成果（学分随即入账）",
    response=OutcomeOut,
)
def certify(outcome_id: int):
    outcome = _outcome_or_error(outcome_id)
    operations.certify_outcome(current_user, outcome)
    db.session.commit()
    return _outcome_out(outcome)


class ReasonIn(Schema):
    reason: str = Field(max_length=2000)


@endpoint(
    api_bp,
    "/outcomes/<int:outcome_id>/reject",
    "POST",
    summary="专员：退回一项成果并说明原因",
    body=ReasonIn,
    response=OutcomeOut,
)
def reject(outcome_id: int, body: ReasonIn):
    outcome = _outcome_or_error(outcome_id)
    operations.reject_outcome(current_user, outcome, reason=body.reason)
    db.session.commit()
    return _outcome_out(outcome)


@endpoint(
    api_bp,
    "/ledger-entries/<int:entry_id>/reverse",
    "POST",
    summary="专员：冲正一笔学分（成果撤销，列出它的学分证明随之撤销）",
    body=ReasonIn,
    response=EntryOut,
    status=201,
)
def reverse(entry_id: int, body: ReasonIn):
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or not access.can_reverse(current_user, entry):
        raise not_found()
    reversal = operations.reverse_entry(current_user, entry, reason=body.reason)
    db.session.commit()
    return _entry_out(reversal).model_dump(mode="json"), 201


# Conversion rules ------------------------------------------------------------------------------


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


def _rule_out(rule: ConversionRule) -> dict:
    return RuleOut(
        id=rule.id,
        family_id=rule.family_id,
        version=rule.version,
        kind=str(rule.kind),
        category_id=rule.category_id,
        mode=str(rule.mode),
        hours_per_credit=_credits(rule.hours_per_credit),
        fixed_credits=_credits(rule.fixed_credits),
        yearly_cap=_credits(rule.yearly_cap),
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        note=rule.note,
        current=rule.current,
        description=operations.describe_rule(rule),
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
    kind: Literal["online_course", "training", "certificate", "volunteer", "activity", "transfer"]
    category_id: Id | None = None
    mode: Literal["per_hours", "fixed"]
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
    )


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
    rule = db.session.get(ConversionRule, rule_id)
    if rule is None:
        raise not_found()
    new = _save_rule(body, rule)
    db.session.commit()
    return _rule_out(new), 201


class PreviewQuery(Schema):
    kind: Literal["online_course", "training", "certificate", "volunteer", "activity", "transfer"]
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


# Transcripts and verification ------------------------------------------------------------------


class TranscriptOut(BaseModel):
    serial: str
    issued_at: datetime
    total_credits: float
    revoked: bool
    pdf_url: str
    json_url: str
    verify_url: str


def _transcript_out(transcript: Transcript) -> dict:
    verify_url = transcript.document["transcript"]["verify_url"]
    return TranscriptOut(
        serial=transcript.serial,
        issued_at=transcript.issued_at,
        total_credits=float(transcript.total_credits),
        revoked=transcript.revoked_at is not None,
        pdf_url=url_for("credits_api.transcript_pdf_api", serial=transcript.serial, _external=True),
        json_url=url_for(
            "credits_api.transcript_json_api", serial=transcript.serial, _external=True
        ),
        verify_url=verify_url,
    ).model_dump(mode="json")


@endpoint(
    api_bp, "/me/transcripts", "POST", summary="开具学分证明", response=TranscriptOut, status=201
)
def issue_transcript():
    transcript = operations.issue_transcript(current_user)
    db.session.commit()
    return _transcript_out(transcript), 201


@endpoint(api_bp, "/me/transcripts", "GET", summary="我开具过的学分证明")
def my_transcripts():
    rows = db.session.scalars(
        select(Transcript).filter_by(user_id=current_user.id).order_by(Transcript.id.desc())
    ).all()
    return {"items": [_transcript_out(row) for row in rows]}


@endpoint(
    api_bp,
    "/transcripts/<serial>.pdf",
    "GET",
    summary="学分证明 PDF（本人，或带核验码 ?code=）",
    auth=False,
    raw="application/pdf",
)
def transcript_pdf_api(serial: str):
    return transcript_pdf(serial)


@endpoint(
    api_bp,
    "/transcripts/<serial>.json",
    "GET",
    summary="签名的学分证明 JSON（本人，或带核验码 ?code=）",
    auth=False,
    raw="application/json",
)
def transcript_json_api(serial: str):
    return transcript_json(serial)


class VerifyQuery(Schema):
    code: str = Field("", max_length=40)


class VerifyOut(BaseModel):
    valid: bool
    revoked: bool
    reason: str
    serial: str | None = None
    holder: str | None = None
    issued_at: str | None = None
    total_credits: float | None = None
    total_hours: float | None = None
    issuer: str | None = None
    revoked_at: str | None = None
    revoked_reason: str | None = None


@endpoint(
    api_bp,
    "/verify/<serial>",
    "GET",
    summary="公开核验：按编号与核验码（valid 表示真实且未撤销）",
    query=VerifyQuery,
    response=VerifyOut,
    auth=False,
)
def verify(serial: str, query: VerifyQuery):
    transcript = verification.find_transcript(serial, query.code)
    if transcript is None:
        raise ApiError(404, "not_found", _("没有找到这份学分证明：编号或核验码不正确"))
    return _verify_out(verification.verdict_for(transcript))


def _verify_out(verdict: verification.Verdict) -> dict:
    summary = verdict.summary()
    keep = VerifyOut.model_fields.keys()
    return VerifyOut(**{key: value for key, value in summary.items() if key in keep}).model_dump(
        mode="json"
    )


@endpoint(
    api_bp,
    "/verify",
    "POST",
    summary="公开核验：提交签名的学分证明 JSON",
    response=VerifyOut,
    auth=False,
)
def verify_document():
    document = json_body()
    verdict = verification.check_document(document)
    if not verdict.valid and verdict.transcript is None:
        return _verify_out(verdict), 422
    return _verify_out(verdict)

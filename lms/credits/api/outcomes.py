"""Learning outcomes: a resident submits offline learning; registrars certify, reject and
reverse."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.core.api import ApiError, Schema, endpoint, multipart_form
from lms.credits import access, api_bp, operations
from lms.credits.api.accounts import EntryOut, credits_number, entry_out
from lms.credits.models import LearningOutcome, OutcomeKind, OutcomeStatus
from lms.extensions import db


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
        credits=credits_number(outcome.credits),
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
    form = multipart_form()
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
    access.require_registrar(current_user)
    rows = access.review_queue(current_user, OutcomeStatus(query.status))
    return {"items": [_outcome_out(outcome) for outcome in rows]}


@endpoint(api_bp, "/outcomes/<int:outcome_id>", "GET", summary="一项学习成果", response=OutcomeOut)
def get_outcome(outcome_id: int):
    return _outcome_out(access.get_outcome_or_404(outcome_id, current_user))


@endpoint(
    api_bp,
    "/outcomes/<int:outcome_id>/certify",
    "POST",
    summary="专员：认证一项成果（学分随即入账）",
    response=OutcomeOut,
)
def certify(outcome_id: int):
    outcome = access.get_outcome_or_404(outcome_id, current_user, to_decide=True)
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
    outcome = access.get_outcome_or_404(outcome_id, current_user, to_decide=True)
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
    entry = access.get_entry_or_404(entry_id, current_user, to_reverse=True)
    reversal = operations.reverse_entry(current_user, entry, reason=body.reason)
    db.session.commit()
    return entry_out(reversal).model_dump(mode="json"), 201

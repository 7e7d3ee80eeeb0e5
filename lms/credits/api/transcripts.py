"""Transcripts (学分证明): issue, list and download; and their public verification."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.core.api import ApiError, Schema, endpoint, json_body
from lms.core.time import utcnow
from lms.credits import access, api_bp, operations, verification
from lms.credits.credentials import verify as checks
from lms.credits.documents import transcript_download
from lms.credits.models import Transcript
from lms.extensions import db


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
    api_bp,
    "/me/transcripts",
    "POST",
    summary="开具学分证明（学分没有变化时返回上一份，200）",
    response=TranscriptOut,
    status=201,
)
def issue_transcript():
    started = utcnow()
    transcript = operations.issue_transcript(current_user)
    db.session.commit()
    # Nothing changed since the last one: that one is the answer (200), not a new serial.
    return _transcript_out(transcript), 201 if transcript.issued_at >= started else 200


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
    optional_auth=True,
    params={"code": "核验码（本人下载时不需要）"},
    content="application/pdf",
)
def transcript_pdf_api(serial: str):
    return transcript_download(access.get_transcript_or_404(serial, current_user), "pdf")


@endpoint(
    api_bp,
    "/transcripts/<serial>.json",
    "GET",
    summary="签名的学分证明 JSON（本人，或带核验码 ?code=）",
    auth=False,
    optional_auth=True,
    params={"code": "核验码（本人下载时不需要）"},
    content="application/json",
)
def transcript_json_api(serial: str):
    return transcript_download(access.get_transcript_or_404(serial, current_user), "json")


class VerifyQuery(Schema):
    code: str = Field("", max_length=40)


class VerifyOut(BaseModel):
    valid: bool
    revoked: bool
    reason: str
    # What the file was: transcript (our own signed JSON), badge (数字学分凭证, Open Badges
    # 3.0) or record (数字学习档案, CLR 2.0); None when it was none of them.
    kind: str | None = None
    credential_id: str | None = None
    name: str | None = None
    achievement: str | None = None
    credits: float | None = None
    count: int | None = None
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
    summary="公开核验：提交签名的学分证明 JSON、数字学分凭证（Open Badges 3.0）或数字学习档案（CLR 2.0）",
    response=VerifyOut,
    auth=False,
    json_body_schema={
        "type": "object",
        "description": "签名的学分证明 JSON，或 W3C 可验证凭证（OpenBadgeCredential、ClrCredential）",
    },
    responses={422: VerifyOut},  # not a credential of ours, or its signature does not hold
)
def verify_document():
    finding = checks.check_any(json_body(max_bytes=checks.MAX_BYTES))
    if finding.verdict is not None:
        verdict = finding.verdict
        out = {**_verify_out(verdict), "kind": "transcript" if verdict.transcript else None}
        return out, 422 if not verdict.valid and verdict.transcript is None else 200
    return _finding_out(finding), 200 if finding.known else 422


def _finding_out(finding: checks.Finding) -> dict:
    details = finding.details
    return VerifyOut(
        valid=finding.valid,
        revoked=finding.revoked,
        reason=finding.reason,
        kind=finding.kind if details else None,
        credential_id=details.get("credential_id"),
        name=details.get("name"),
        holder=details.get("holder"),
        issued_at=details.get("issued_at"),
        issuer=details.get("issuer"),
        achievement=details.get("achievement"),
        credits=details.get("credits"),
        count=details.get("count"),
    ).model_dump(mode="json")

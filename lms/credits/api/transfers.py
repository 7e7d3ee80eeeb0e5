"""Credits from elsewhere (学分互认) under /api/v1: the trust list kept by county registrars,
importing a credential (a resident, or a registrar for a resident), and the imported credentials
revoked at their source."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.core.api import ApiError, Schema, endpoint, json_body
from lms.core.models import MAX_ID
from lms.credits import access, api_bp, operations
from lms.credits.api.accounts import credits_number
from lms.credits.credentials import verify
from lms.credits.models import ImportedCredential, TrustedIssuer
from lms.credits.operations.transfers import Imported
from lms.extensions import db


class TrustedIssuerOut(BaseModel):
    id: int
    name: str
    did: str
    keys: list[str]
    origin: str
    trusted_from: date
    achievement_types: list[str]
    note: str
    current: bool
    added_at: datetime


def issuer_out(issuer: TrustedIssuer) -> dict:
    return TrustedIssuerOut(
        id=issuer.id,
        name=issuer.name,
        did=issuer.did,
        keys=[key["multibase"] for key in issuer.keys or []],
        origin=issuer.origin,
        trusted_from=issuer.trusted_from,
        achievement_types=list(issuer.achievement_types or []),
        note=issuer.note,
        current=issuer.current,
        added_at=issuer.created_at,
    ).model_dump(mode="json")


class TrustedIssuerIn(Schema):
    name: str = Field(max_length=200)
    did: str = Field(
        max_length=200, description="did:web:… （添加时联网获取一次 DID 文档）或 did:key:…"
    )
    trusted_from: date
    achievement_types: list[str] = Field(max_length=20, description="Open Badges achievementType")
    did_document: str = Field("", max_length=100_000, description="粘贴的 DID 文档（不联网时）")
    public_key: str = Field("", max_length=200, description="Ed25519 Multikey（z6Mk…）")
    origin: str = Field(
        "", max_length=200, description="对方网站（撤销状态列表所在），did:web 可不填"
    )
    note: str = Field("", max_length=200)


@endpoint(api_bp, "/trusted-issuers", "GET", summary="专员：学分互认的可信签发单位名单")
def trusted_issuers():
    access.require_registrar(current_user)
    rows = db.session.scalars(select(TrustedIssuer).order_by(TrustedIssuer.id)).all()
    return {"items": [issuer_out(row) for row in rows]}


@endpoint(
    api_bp,
    "/trusted-issuers",
    "POST",
    summary="县级专员：把一个签发单位加入可信名单（记下它此刻的公钥）",
    body=TrustedIssuerIn,
    response=TrustedIssuerOut,
    status=201,
)
def add_trusted_issuer(body: TrustedIssuerIn):
    access.require_trust_keeper(current_user)
    issuer = operations.add_trusted_issuer(current_user, **body.model_dump())
    db.session.commit()
    return issuer_out(issuer), 201


@endpoint(
    api_bp,
    "/trusted-issuers/<int:issuer_id>/retire",
    "POST",
    summary="县级专员：停止互认一个签发单位（已转入的学分不变）",
    response=TrustedIssuerOut,
)
def retire_trusted_issuer(issuer_id: int):
    issuer = access.get_trusted_issuer_or_404(issuer_id)
    access.require_trust_keeper(current_user)
    operations.retire_trusted_issuer(current_user, issuer)
    db.session.commit()
    return issuer_out(issuer)


class KeysIn(Schema):
    did_document: str = Field("", max_length=100_000, description="粘贴的 DID 文档（不联网时）")
    public_key: str = Field("", max_length=200, description="Ed25519 Multikey（z6Mk…）")


@endpoint(
    api_bp,
    "/trusted-issuers/<int:issuer_id>/keys",
    "POST",
    summary="县级专员：对方更换密钥后重新取回公钥（did:web 联网一次，或粘贴；旧公钥保留）",
    body=KeysIn,
    response=TrustedIssuerOut,
)
def refresh_trusted_issuer_keys(issuer_id: int, body: KeysIn):
    issuer = access.get_trusted_issuer_or_404(issuer_id)
    access.require_trust_keeper(current_user)
    operations.refresh_trusted_issuer_keys(current_user, issuer, **body.model_dump())
    db.session.commit()
    return issuer_out(issuer)


class ItemOut(BaseModel):
    credential_id: str
    title: str
    achievement_type: str
    hours: float
    credits: float | None
    occurred_on: date
    accepted: bool
    note: str
    outcome_id: int | None


class ImportOut(BaseModel):
    upload_id: int
    issuer: str
    kind: str
    credential_id: str
    holder: str
    items: list[ItemOut]


def import_out(imported: Imported) -> dict:
    rows = {
        row.credential_id: row.outcome_id
        for row in db.session.scalars(
            select(ImportedCredential).filter_by(upload_id=imported.upload.id)
        )
    }
    exam = imported.examination
    return ImportOut(
        upload_id=imported.upload.id,
        issuer=exam.issuer.name,
        kind=exam.kind,
        credential_id=exam.credential_id,
        holder=exam.holder,
        items=[
            ItemOut(
                credential_id=item.credential_id,
                title=item.title,
                achievement_type=item.achievement_type,
                hours=float(item.hours),
                credits=credits_number(item.credits),
                occurred_on=item.occurred_on,
                accepted=item.accepted,
                note=item.note,
                outcome_id=rows.get(item.credential_id) if item.accepted else None,
            )
            for item in exam.items
        ],
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/credentials/import",
    "POST",
    summary="转入外单位的数字学分凭证或数字学习档案（学分互认）：核验后生成待认证的外部转入成果",
    response=ImportOut,
    status=201,
    params={"user_id": "专员代居民转入时：居民的用户编号"},
    json_body_schema={
        "type": "object",
        "description": "外单位签发的 W3C 可验证凭证（OpenBadgeCredential 或 ClrCredential）",
    },
)
def import_credential():
    resident = current_user
    user_id = request.args.get("user_id", "")
    if user_id:
        if not re.fullmatch(r"[0-9]{1,10}", user_id) or not 1 <= int(user_id) <= MAX_ID:
            raise ApiError(422, "validation_error", _("用户编号不正确"))
        resident = access.get_account_holder_or_404(int(user_id), current_user)
    document = json_body(max_bytes=verify.MAX_BYTES)
    imported = operations.import_credential(
        current_user, resident, document, request.get_data(cache=True)
    )
    db.session.commit()
    return import_out(imported), 201


class FlaggedOut(BaseModel):
    id: int
    outcome_id: int
    user_id: int
    title: str
    issuer: str
    credential_id: str
    revoked_at_source: datetime
    entry_id: int | None


@endpoint(
    api_bp,
    "/credentials/imports/revoked",
    "GET",
    summary="专员：已被原签发单位撤销、学分仍在账上的外部转入凭证（可冲正）",
)
def flagged():
    access.require_registrar(current_user)
    from lms.credits.credentials.issue import standing_deposit

    items = []
    for row in operations.flagged_imports(current_user):
        entry = standing_deposit(row.outcome)
        items.append(
            FlaggedOut(
                id=row.id,
                outcome_id=row.outcome_id,
                user_id=row.outcome.user_id,
                title=row.outcome.title,
                issuer=row.issuer.name,
                credential_id=row.credential_id,
                revoked_at_source=row.revoked_at_source,
                entry_id=entry.id if entry else None,
            ).model_dump(mode="json")
        )
    return {"items": items}

"""Issuing standard credentials: an Open Badges 3.0 badge (数字学分凭证) for a standing ledger
deposit, and a CLR 2.0 learner record (数字学习档案) for a transcript, carrying the badges of
the deposits it lists. Each is signed once and kept as issued: asking again returns the same
credential (same id, same status bit)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.accounts.models import User
from lms.core.errors import Conflict, OperationError
from lms.core.rows import add_unique
from lms.core.time import utcnow
from lms.credits import access, checkpoints, signing
from lms.credits.credentials import status
from lms.credits.credentials.did import public_base, site_did, verification_method
from lms.credits.credentials.jsonld import CLR_V2, CREDENTIALS_V2, OB_V3
from lms.credits.credentials.proofs import add_proof
from lms.credits.models import (
    CredentialKind,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    StandardCredential,
    Transcript,
    TranscriptEntry,
)
from lms.extensions import db

ACHIEVEMENT_TYPES = {
    OutcomeKind.ONLINE_COURSE: "Course",
    OutcomeKind.TRAINING: "LearningProgram",
    OutcomeKind.CERTIFICATE: "Certificate",
    OutcomeKind.VOLUNTEER: "CommunityService",
    OutcomeKind.ACTIVITY: "CoCurricular",
    OutcomeKind.TRANSFER: "Achievement",
}
ALLOCATION_TRIES = 8


def xsd_time(moment: datetime) -> str:
    """An ``xsd:dateTime`` in UTC, to the second (times are stored in UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: Decimal) -> int | float:
    """A JSON number that every JSON-LD processor turns into the same RDF literal: a whole
    number is written without a fraction (JavaScript cannot tell 2.0 from 2, and would
    canonicalise it differently from Python)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _urn(*parts: object) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def issuer_profile() -> dict[str, Any]:
    college = access.county_unit()
    name = _("%(unit)s社区教育学院", unit=college.name) if college else _("社区教育学院")
    return {"id": site_did(), "type": ["Profile"], "name": name, "url": public_base() + "/"}


def identifiers(user: User) -> list[dict[str, Any]]:
    """Who the credential is about: the name in clear, for the reader to match the person in
    front of them. Nothing else: a mobile number, even hashed, is recovered by trying the
    few billion numbers there are (DESIGN law 8)."""
    return [
        {
            "type": "IdentityObject",
            "identityType": "name",
            "hashed": False,
            "identityHash": user.name,
        },
    ]


def checkpoint_evidence() -> list[dict[str, Any]]:
    """The ledger checkpoint a credential is issued under, as Open Badges ``Evidence`` (a type
    and properties the vendored OB 3.0 context defines, so any verifier reads it): its public
    address, number and Merkle root. Nothing before the first checkpoint."""
    checkpoint = checkpoints.reference()
    if checkpoint is None:
        return []
    return [
        {
            "id": checkpoint["url"],
            "type": ["Evidence"],
            "name": _("学分账本检查点 第 %(number)s 号", number=checkpoint["number"]),
            "description": _(
                "签发时学分账本最新的签名检查点（编号 %(number)s，Merkle 根 %(root)s）。",
                number=checkpoint["number"],
                root=checkpoint["root"],
            ),
            "genre": "LedgerCheckpoint",
        }
    ]


def _with_evidence(document: dict[str, Any]) -> dict[str, Any]:
    evidence = checkpoint_evidence()
    if evidence:
        document["evidence"] = evidence
    return document


def _sign(document: dict[str, Any], created: str) -> dict[str, Any]:
    key = signing.signing_key()
    return add_proof(document, key, verification_method(key.public_key()), created)


def _store(kind: CredentialKind, user: User, build, **link) -> StandardCredential:
    """Insert the credential *build(list, index, credential_id, now)* makes, drawing another
    status bit when the drawn one is taken; the row another request inserted first when the
    same deposit or transcript wins the race."""
    column = StandardCredential.entry_id if "entry_id" in link else StandardCredential.transcript_id
    for _try in range(ALLOCATION_TRIES):
        list_no, index = status.allocate()
        credential_id = "urn:uuid:" + str(uuid.uuid4())
        now = utcnow()
        row = StandardCredential(
            credential_id=credential_id,
            kind=kind,
            user_id=user.id,
            status_list=list_no,
            status_index=index,
            issued_at=now,
            document=build(list_no, index, credential_id, now),
            **link,
        )
        if add_unique(row):
            return row
        existing = db.session.scalar(
            select(StandardCredential).where(column == next(iter(link.values())))
        )
        if existing is not None:
            return existing
    raise RuntimeError("no free status-list index after several draws")


def _reversed(entry: LedgerEntry) -> bool:
    return (
        db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id))
        is not None
    )


def badge_for_entry(entry: LedgerEntry) -> StandardCredential:
    """The badge of a standing deposit (issued now if it has none yet)."""
    existing = db.session.scalar(select(StandardCredential).filter_by(entry_id=entry.id))
    if existing is not None:
        return existing
    outcome = entry.outcome
    user = entry.account.user

    def build(list_no: int, index: int, credential_id: str, now: datetime) -> dict[str, Any]:
        with force_locale(current_app.config["LMS_LOCALES"][0]):
            return _sign(
                _with_evidence(_badge(entry, outcome, user, list_no, index, credential_id, now)),
                xsd_time(now),
            )

    return _store(CredentialKind.BADGE, user, build, entry_id=entry.id)


def _badge(entry, outcome, user, list_no, index, credential_id, now) -> dict[str, Any]:
    did = site_did()
    achievement_id = _urn(did, "outcome", outcome.id)
    hours_id = _urn(did, "result", "hours")
    unit = outcome.certifying_unit
    certifier = unit.name if unit else issuer_profile()["name"]
    hours, credits = f"{outcome.hours:.1f}", f"{entry.amount:.1f}"
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": ACHIEVEMENT_TYPES.get(outcome.kind, "Achievement"),
        "name": outcome.title,
        "description": outcome.description.strip()
        or _("%(kind)s：%(title)s", kind=outcome.kind.label, title=outcome.title),
        "criteria": {
            "narrative": _(
                "完成%(kind)s「%(title)s」%(hours)s 学时，经%(unit)s认证，"
                "按学分银行的转换规则记 %(credits)s 学分。",
                kind=outcome.kind.label,
                title=outcome.title,
                hours=hours,
                unit=certifier,
                credits=credits,
            )
        },
        "creditsAvailable": number(entry.amount),
        "inLanguage": "zh-CN",
        "resultDescription": [
            {
                "id": hours_id,
                "type": ["ResultDescription"],
                "name": _("学时"),
                "resultType": "ext:LearningHours",
            }
        ],
    }
    if unit is not None:
        achievement["creator"] = {
            "id": _urn(did, "unit", unit.id),
            "type": ["Profile"],
            "name": unit.name,
        }
    return {
        "@context": [CREDENTIALS_V2, OB_V3],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": _("数字学分凭证：%(title)s", title=outcome.title),
        "issuer": issuer_profile(),
        "validFrom": xsd_time(now),
        "awardedDate": xsd_time(entry.occurred_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": identifiers(user),
            "achievement": achievement,
            "creditsEarned": number(entry.amount),
            "activityEndDate": outcome.occurred_on.isoformat(),
            "result": [
                {"type": ["Result"], "resultDescription": hours_id, "value": f"{outcome.hours:.1f}"}
            ],
        },
        "credentialStatus": status.entry(list_no, index),
    }


def standing_deposit(outcome: LearningOutcome) -> LedgerEntry | None:
    """The outcome's deposit that has not been reversed, if any."""
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    return db.session.scalar(
        select(LedgerEntry)
        .where(
            LedgerEntry.outcome_id == outcome.id,
            LedgerEntry.kind == EntryKind.DEPOSIT,
            LedgerEntry.id.not_in(reversed_ids),
        )
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    )


def badge_for_outcome(user: User, outcome_id: int) -> StandardCredential:
    """The resident's own certified outcome as a badge; 404 for anyone else's, 409 when it
    holds no standing credits."""
    outcome = db.session.get(LearningOutcome, outcome_id)
    if outcome is None or outcome.user_id != user.id:
        raise OperationError(_("没有找到这项成果"), status=404, code="not_found")
    entry = standing_deposit(outcome)
    if entry is None:
        raise Conflict(_("这项成果没有记入学分（或已被冲正），不能下载数字学分凭证"))
    return badge_for_entry(entry)


def record_for_transcript(transcript: Transcript) -> StandardCredential:
    """The learner record of *transcript* (issued now if it has none yet), carrying the badge
    of each deposit the transcript lists. A revoked transcript gets none (409)."""
    existing = db.session.scalar(select(StandardCredential).filter_by(transcript_id=transcript.id))
    if existing is not None:
        return existing
    if transcript.revoked_at is not None:
        raise Conflict(_("这份学分证明已被撤销，不能再下载数字学习档案"))
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .join(TranscriptEntry, TranscriptEntry.entry_id == LedgerEntry.id)
            .where(TranscriptEntry.transcript_id == transcript.id)
            .order_by(LedgerEntry.seq)
            .options(
                selectinload(LedgerEntry.outcome).selectinload(LearningOutcome.certifying_unit),
                selectinload(LedgerEntry.account),
            )
        )
    )
    badges = [badge_for_entry(entry).document for entry in entries if entry.outcome is not None]
    user = transcript.user
    payload = transcript.document["transcript"]

    def build(list_no: int, index: int, credential_id: str, now: datetime) -> dict[str, Any]:
        with force_locale(current_app.config["LMS_LOCALES"][0]):
            issuer = issuer_profile()
            document = {
                "@context": [CREDENTIALS_V2, CLR_V2, OB_V3],
                "id": credential_id,
                "type": ["VerifiableCredential", "ClrCredential"],
                "name": _("数字学习档案 %(serial)s", serial=transcript.serial),
                "description": _(
                    "学分证明 %(serial)s 的标准格式（CLR 2.0）：%(count)s 项成果，共 %(hours)s 学时、%(credits)s 学分。",
                    serial=transcript.serial,
                    count=len(badges),
                    hours=payload["total_hours"],
                    credits=payload["total_credits"],
                ),
                "issuer": issuer,
                "validFrom": xsd_time(transcript.issued_at),
                "credentialSubject": {
                    "type": ["ClrSubject"],
                    "identifier": identifiers(user),
                    "verifiableCredential": badges,
                },
                "credentialStatus": status.entry(list_no, index),
            }
            return _sign(_with_evidence(document), xsd_time(now))

    return _store(CredentialKind.RECORD, user, build, transcript_id=transcript.id)

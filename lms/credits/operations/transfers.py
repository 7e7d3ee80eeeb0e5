"""Credits from elsewhere (学分互认): the county's trust list, importing a credential file as
外部转入 outcomes pending review, and the re-check of imported credentials at their source.

Certifying such an outcome is the ordinary ``certify_outcome``: its deposit is posted with the
idempotency key ``credential:<credential id>`` (``outcomes._deposit``), so one credential is
credited once, whoever uploads it, however often, however many at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.models import Role, User
from lms.accounts.operations import notify
from lms.core.errors import Conflict, field_error
from lms.core.rows import add_unique
from lms.core.text import clean_title
from lms.core.time import utcnow
from lms.core.web import site_url
from lms.credits import access
from lms.credits.credentials import foreign
from lms.credits.credentials.fetch import (
    FetchFailed,
    did_web_document_url,
    fetch_json,
    origin_of_did_web,
)
from lms.credits.credentials.proofs import multikey, public_key_from_multikey
from lms.credits.models import (
    CredentialKind,
    CredentialUpload,
    ImportedCredential,
    LearningOutcome,
    OutcomeKind,
    OutcomeStatus,
    TrustedIssuer,
)
from lms.extensions import db

# Trust list ------------------------------------------------------------------------------------


def _clean_types(kinds: list[str]) -> list[str]:
    chosen = [kind for kind in foreign.ACHIEVEMENT_TYPES if kind in set(kinds or [])]
    if not chosen:
        raise field_error("achievement_types", _("请至少选择一种互认的成果类型"))
    return chosen


def _keys_from_input(did: str, did_document: str, public_key: str) -> tuple[list, dict | None]:
    """The keys of *did* from a pasted DID document or public key, or from the DID itself
    (did:key), or fetched once from did:web."""
    if did_document.strip():
        try:
            document = json.loads(did_document)
        except (ValueError, RecursionError):
            raise field_error("did_document", _("DID 文档不是有效的 JSON")) from None
        keys = foreign.keys_from_did_document(document, did)
        if not keys:
            raise field_error("did_document", _("DID 文档里没有这个 DID 的签名公钥"))
        return keys, document
    if public_key.strip():
        value = public_key.strip()
        if public_key_from_multikey(value) is None:
            raise field_error("public_key", _("公钥应为 Ed25519 的 Multikey（z6Mk 开头）"))
        return [{"id": None, "multibase": value}], None
    if did.startswith("did:key:"):
        value = did.removeprefix("did:key:")
        if public_key_from_multikey(value) is None:
            raise field_error("did", _("did:key 里不是 Ed25519 公钥"))
        return [{"id": f"{did}#{value}", "multibase": value}], None
    url = did_web_document_url(did)
    if url is None:
        raise field_error("did", _("请填写 did:web 或 did:key，或粘贴 DID 文档、公钥"))
    try:
        document = fetch_json(url)
    except FetchFailed as failure:
        raise field_error(
            "did",
            _(
                "无法获取对方的 DID 文档（%(reason)s）；可以粘贴 DID 文档或公钥",
                reason=failure.reason,
            ),
        ) from None
    keys = foreign.keys_from_did_document(document, did)
    if not keys:
        raise field_error("did", _("对方的 DID 文档里没有签名公钥"))
    return keys, document


def add_trusted_issuer(
    registrar: User,
    *,
    name: str,
    did: str,
    trusted_from: date | None,
    achievement_types: list[str],
    did_document: str = "",
    public_key: str = "",
    origin: str = "",
    note: str = "",
) -> TrustedIssuer:
    """A county registrar adds an institution to the trust list. Its keys are captured now
    (did:web: one fetch of its DID document, or what is pasted), so that checking an upload
    later needs no network for the key. Who may do it is asked of ``access`` by the caller."""
    name = clean_title(name)
    did = (did or "").strip()
    if not did.startswith("did:") or len(did) > 200 or any(c.isspace() for c in did):
        raise field_error("did", _("请填写对方的 DID（did:web:… 或 did:key:…）"))
    if trusted_from is None:
        raise field_error("trusted_from", _("请填写从哪一天起互认"))
    kinds = _clean_types(achievement_types)
    if foreign.trusted_issuer(did) is not None:
        raise Conflict(_("这个单位已在可信名单上"))
    keys, document = _keys_from_input(did, did_document or "", public_key or "")
    origin = (origin or "").strip().rstrip("/") or origin_of_did_web(did) or ""
    if origin and not origin.startswith(("https://", "http://")) or len(origin) > 200:
        raise field_error("origin", _("网站地址应以 https:// 开头"))
    issuer = TrustedIssuer(
        name=name,
        did=did,
        keys=keys,
        did_document=document,
        origin=origin,
        trusted_from=trusted_from,
        achievement_types=kinds,
        note=" ".join((note or "").split())[:200],
        added_by_id=registrar.id,
    )
    if not add_unique(issuer):
        raise Conflict(_("这个单位已在可信名单上"))
    return issuer


def refresh_trusted_issuer_keys(
    registrar: User, issuer: TrustedIssuer, *, did_document: str = "", public_key: str = ""
) -> int:
    """After the institution rotates its key: take its keys again (did:web: one fetch now, or
    what is pasted) and add the new ones. Keys already held stay, so what the old key signed
    keeps verifying. Returns how many keys were added."""
    if not issuer.current:
        raise Conflict(_("这个单位已经不在可信名单上"))
    keys, document = _keys_from_input(issuer.did, did_document or "", public_key or "")
    held = {key["multibase"] for key in issuer.keys or []}
    added = [key for key in keys if key["multibase"] not in held]
    if added:
        issuer.keys = [*(issuer.keys or []), *added]
    if document is not None:
        issuer.did_document = document
    db.session.flush()
    return len(added)


def retire_trusted_issuer(registrar: User, issuer: TrustedIssuer) -> None:
    """Stop accepting new credentials of *issuer* (what was credited stays)."""
    if not issuer.current:
        raise Conflict(_("这个单位已经不在可信名单上"))
    issuer.retired_at = utcnow()
    issuer.retired_by_id = registrar.id
    db.session.flush()


def describe_keys(issuer: TrustedIssuer) -> list[str]:
    return [key["multibase"] for key in issuer.keys or []]


# Importing -------------------------------------------------------------------------------------


@dataclass
class Imported:
    upload: CredentialUpload
    examination: foreign.Examination
    outcomes: list[LearningOutcome]


def import_credential(uploader: User, resident: User, document: Any, raw: bytes) -> Imported:
    """Read an uploaded credential (already parsed from *raw*) for *resident* and turn each
    transferable achievement into a 外部转入 outcome pending review, the file kept as
    evidence. Raises ``foreign.Refused`` for a file refused as a whole, and Conflict when
    nothing in it can be transferred (the reasons are in the message)."""
    examination = foreign.examine(document, resident)
    if not examination.accepted:
        notes = "；".join(
            dict.fromkeys(f"{item.title}：{item.note}" for item in examination.items[:5])
        )
        raise Conflict(_("这份凭证里没有可以转入的成果（%(notes)s）", notes=notes))
    issuer = examination.issuer
    upload = CredentialUpload(
        user_id=resident.id,
        uploaded_by_id=uploader.id,
        issuer_id=issuer.id,
        kind=CredentialKind.RECORD if examination.kind == "record" else CredentialKind.BADGE,
        credential_id=examination.credential_id,
        sha256=hashlib.sha256(raw).hexdigest(),
        document=document,
    )
    db.session.add(upload)
    db.session.flush()
    outcomes = []
    for item in examination.accepted:
        outcome = LearningOutcome(
            user_id=resident.id,
            kind=OutcomeKind.TRANSFER,
            title=item.title,
            hours=item.hours,
            occurred_on=item.occurred_on,
            issuer=issuer.name[:100],
            description=_(
                "由%(issuer)s签发的%(kind)s，原单位记 %(credits)s 学分；凭证编号 %(id)s",
                issuer=issuer.name,
                kind=item.type_label,
                credits=item.credits if item.credits is not None else _("（未写明）"),
                id=item.credential_id,
            ),
            status=OutcomeStatus.PENDING,
        )
        if not add_unique(outcome):
            item.accepted, item.note = False, _("与已有的一项成果重复")
            continue
        db.session.add(
            ImportedCredential(
                upload_id=upload.id,
                outcome_id=outcome.id,
                issuer_id=issuer.id,
                credential_id=item.credential_id,
                ledger_key=foreign.ledger_key(item.credential_id),
                achievement_type=item.achievement_type,
                source_credits=item.credits,
                position=item.position,
                status_url=item.status_url,
                status_index=item.status_index,
                checked_at=utcnow(),
            )
        )
        outcomes.append(outcome)
    if not outcomes:
        raise Conflict(_("这份凭证里的成果都已经转入过了"))
    db.session.flush()
    return Imported(upload, examination, outcomes)


def imported_for(outcome: LearningOutcome) -> ImportedCredential | None:
    if outcome.kind is not OutcomeKind.TRANSFER:
        return None
    return db.session.scalar(select(ImportedCredential).filter_by(outcome_id=outcome.id))


# Re-checking at the source ----------------------------------------------------------------------


@dataclass
class Recheck:
    checked: int = 0
    newly_revoked: int = 0
    unreachable: int = 0


def recheck_imported(*, limit: int = 5000) -> Recheck:
    """Ask each certified imported credential's issuer whether it still stands. One newly
    revoked at its source is flagged (``revoked_at_source``) and its registrars get a notice;
    they may reverse the entry. An unreachable issuer is noted and asked again next time."""
    report = Recheck()
    rows = db.session.scalars(
        select(ImportedCredential)
        .join(LearningOutcome, ImportedCredential.outcome_id == LearningOutcome.id)
        .where(
            LearningOutcome.status == OutcomeStatus.CERTIFIED,
            ImportedCredential.revoked_at_source.is_(None),
            ImportedCredential.status_url != "",
        )
        .order_by(ImportedCredential.id)
        .limit(limit)
    ).all()
    fetched: set[str] = set()
    for row in rows:
        report.checked += 1
        try:
            revoked = foreign.revoked_at_source(
                row.status_url,
                row.status_index or 0,
                row.issuer,
                fresh=row.status_url not in fetched,
            )
        except FetchFailed as failure:
            row.check_problem = failure.reason[:500]
            report.unreachable += 1
            continue
        finally:
            fetched.add(row.status_url)
        row.checked_at, row.check_problem = utcnow(), ""
        if revoked:
            row.revoked_at_source = utcnow()
            report.newly_revoked += 1
            _tell_registrars(row)
    db.session.flush()
    return report


def _tell_registrars(row: ImportedCredential) -> None:
    resident = row.outcome.user
    for registrar in _registrars_over(resident):
        notify(
            registrar,
            _(
                "%(issuer)s已撤销“%(title)s”（%(name)s的外部转入学分），请核实并决定是否冲正",
                issuer=row.issuer.name,
                title=row.outcome.title,
                name=resident.name,
            ),
            link=site_url("credits.flagged_imports"),
        )


def _registrars_over(resident: User) -> list[User]:
    from lms.accounts.models import RoleGrant

    grants = db.session.scalars(select(RoleGrant).where(RoleGrant.role == Role.REGISTRAR)).all()
    seen: dict[int, User] = {}
    for grant in grants:
        user = grant.user
        if user.id != resident.id and access.can_manage_account(user, resident):
            seen[user.id] = user
    return list(seen.values())


def flagged_imports(registrar: User) -> list[ImportedCredential]:
    """Imported credentials revoked at their source whose credits still stand, of residents
    in *registrar*'s scope."""
    rows = db.session.scalars(
        select(ImportedCredential)
        .join(LearningOutcome, ImportedCredential.outcome_id == LearningOutcome.id)
        .where(
            ImportedCredential.revoked_at_source.is_not(None),
            LearningOutcome.status == OutcomeStatus.CERTIFIED,
        )
        .order_by(ImportedCredential.revoked_at_source)
        .limit(500)
    ).all()
    return [row for row in rows if access.can_manage_account(registrar, row.outcome.user)]


def public_key_text(key) -> str:
    return multikey(key)

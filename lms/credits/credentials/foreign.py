"""Credentials from elsewhere (学分互认): reading an Open Badges 3.0 badge or a CLR 2.0 learner
record that another institution issued, against the county's trust list.

What is checked, in order: the file (size, nesting, JSON, shape: ``verify.parse_upload``,
``verify.check_form``); the issuer on the trust list; the proof, with the key captured in the
trust entry (no network); the dates; that it was issued to this resident; the revocation bit in
the issuer's status list (fetched from the issuer's own origin only, cached a few minutes);
then, per achievement (one for a badge, each badge of a learner record), its type among the
issuer's trusted kinds, its date not before the issuer is trusted, and that it is not already
credited here.

Who it was issued to: our own badges name the holder by name only (``issue.identifiers``:
a hashed phone number is recovered by trying every number), and so may others'. A name in
clear must equal the resident's; a salted hash (``sha256$…``) of the name, phone number or
e-mail is recomputed; any identifier that contradicts the resident refuses the file, and at
least one must agree. A name cannot tell apart two residents of the same name: the registrar
who certifies checks the person (the review page says so), and the ledger's key
``credential:<id>`` means the same credential is credited once, to whoever first.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.models import User
from lms.core.errors import OperationError
from lms.credits import verification
from lms.credits.credentials import did as site
from lms.credits.credentials import jsonld, status, verify
from lms.credits.credentials.fetch import FetchFailed, fetch_json
from lms.credits.credentials.proofs import public_key_from_multikey
from lms.credits.credentials.verify import Finding, _issuer_id, _time, _types
from lms.credits.models import ImportedCredential, LearningOutcome, OutcomeStatus, TrustedIssuer
from lms.extensions import db

# Open Badges 3.0 achievementType values a registrar can trust an issuer for.
ACHIEVEMENT_TYPES = {
    "Course": "课程",
    "LearningProgram": "培训项目",
    "Certificate": "证书",
    "Certification": "资格认证",
    "CommunityService": "志愿服务",
    "CoCurricular": "社会实践活动",
    "Competency": "能力",
    "Achievement": "其他成果",
}
BADGE_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
STATUS_TTL_S = 600
FAILURE_TTL_S = 30
MAX_HOURS = Decimal("9999")

_cache: dict[str, tuple[float, bytes | FetchFailed]] = {}
_cache_lock = threading.Lock()


class Refused(OperationError):
    """The upload is refused as a whole; ``reason`` in Chinese (the status and code are the
    API's answer)."""

    def __init__(self, reason: str, *, code: str = "validation_error", status: int = 422):
        super().__init__(reason, status=status, code=code)
        self.reason = reason


# Trust entries: keys ------------------------------------------------------------------------


def keys_from_did_document(document: Any, did: str) -> list[dict[str, str]]:
    """The Ed25519 assertion keys of *did* in its DID document, as
    ``{"id": method id, "multibase": z6Mk…}``; [] when the document is not *did*'s."""
    if not isinstance(document, dict) or document.get("id") != did:
        return []
    assertion = document.get("assertionMethod")
    assertion = assertion if isinstance(assertion, list) else []
    named = {item for item in assertion if isinstance(item, str)}
    methods = document.get("verificationMethod")
    methods = list(methods) if isinstance(methods, list) else []
    methods += [item for item in assertion if isinstance(item, dict)]
    keys = []
    for method in methods[:50]:
        if not isinstance(method, dict):
            continue
        method_id = method.get("id")
        if isinstance(method_id, str) and method_id.startswith("#"):
            method_id = did + method_id
        value = method.get("publicKeyMultibase")
        if (
            isinstance(method_id, str)
            and method_id.startswith(did + "#")
            and (method_id in named or method in assertion)
            and public_key_from_multikey(value) is not None
        ):
            keys.append({"id": method_id, "multibase": value})
    return keys


def key_for(issuer: TrustedIssuer, method: str):
    """The public key *issuer*'s trust entry holds for the verification method *method*."""
    if not method.startswith(issuer.did + "#"):
        return None
    fragment = method.split("#", 1)[1]
    for key in issuer.keys or []:
        if key.get("id") == method or (key.get("id") is None and key["multibase"] == fragment):
            return public_key_from_multikey(key["multibase"])
    return None


def trusted_issuer(did: str) -> TrustedIssuer | None:
    return db.session.scalar(
        select(TrustedIssuer).where(TrustedIssuer.did == did, TrustedIssuer.retired_at.is_(None))
    )


# Status lists ----------------------------------------------------------------------------------


def status_place(entry: Any, issuer: TrustedIssuer) -> tuple[str, int] | None:
    """(list URL, index) of a revocation entry whose list lies under *issuer*'s origin."""
    if not isinstance(entry, dict):
        return None
    index, url = entry.get("statusListIndex"), entry.get("statusListCredential")
    if (
        entry.get("type") != "BitstringStatusListEntry"
        or entry.get("statusPurpose") != "revocation"
        or not isinstance(index, str)
        or not re.fullmatch(r"[0-9]{1,8}", index)
        or not isinstance(url, str)
        or len(url) > 500
        or "#" in url
        or not issuer.origin
        or not url.startswith(issuer.origin.rstrip("/") + "/")
    ):
        return None
    return url, int(index)


def _fetch_list(url: str, issuer: TrustedIssuer) -> bytes:
    """The revocation bits of the list at *url*: fetched, its proof checked with the issuer's
    trusted keys, decoded. Raises FetchFailed."""
    document = fetch_json(url)
    if not isinstance(document, dict) or verify.too_large(document):
        raise FetchFailed(_("撤销状态列表的格式不正确"))
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not all(
        isinstance(c, str) and c in jsonld.LOCAL_CONTEXTS for c in contexts
    ):
        raise FetchFailed(_("撤销状态列表的格式不正确"))
    if "BitstringStatusListCredential" not in _types(document.get("type")):
        raise FetchFailed(_("撤销状态列表的格式不正确"))
    proof = document.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    if (
        _issuer_id(document.get("issuer")) != issuer.did
        or not isinstance(method, str)
        or not isinstance(proof.get("proofValue"), str)
    ):
        raise FetchFailed(_("撤销状态列表不是签发单位签名的"))
    key = key_for(issuer, method)
    if key is None or verify.check_proof(document, key, "badge") is not None:
        raise FetchFailed(_("撤销状态列表的签名无效"))
    if "validUntil" in document and verify.check_dates(document, "badge") is not None:
        raise FetchFailed(_("撤销状态列表已过期"))
    subject = document.get("credentialSubject")
    bits = status.decode(subject.get("encodedList")) if isinstance(subject, dict) else None
    if bits is None or subject.get("statusPurpose") != "revocation":
        raise FetchFailed(_("撤销状态列表的格式不正确"))
    return bits


def revoked_at_source(url: str, index: int, issuer: TrustedIssuer, *, fresh: bool = False) -> bool:
    """Whether bit *index* of the issuer's list at *url* is set. Lists are cached for
    ``STATUS_TTL_S`` (a failure for ``FAILURE_TTL_S``, so an unreachable issuer is not asked
    again by every upload); *fresh* asks anew. Raises FetchFailed with the reason."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(url)
    if cached is None or fresh or cached[0] < now:
        try:
            value: bytes | FetchFailed = _fetch_list(url, issuer)
        except FetchFailed as failure:
            value = failure
        ttl = FAILURE_TTL_S if isinstance(value, FetchFailed) else STATUS_TTL_S
        with _cache_lock:
            if len(_cache) > 256:
                _cache.clear()
            _cache[url] = (now + ttl, value)
    else:
        value = cached[1]
    if isinstance(value, FetchFailed):
        raise FetchFailed(
            _(
                "暂时无法从签发单位（%(name)s）核对这份凭证是否已被撤销：%(reason)s。请稍后再试。",
                name=issuer.name,
                reason=value.reason,
            )
        )
    if index >= len(value) * 8:
        raise FetchFailed(_("凭证在签发单位撤销状态列表中的位置不存在"))
    return status.bit_set(value, index)


def forget_cached_lists() -> None:
    with _cache_lock:
        _cache.clear()


# Who it was issued to ------------------------------------------------------------------------


def _plain(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _hash_matches(value: str, identity_hash: str, salt: Any) -> bool:
    if not identity_hash.startswith(("sha256$", "sha256:")):
        return False
    salt = salt if isinstance(salt, str) else ""
    digest = hashlib.sha256((value + salt).encode("utf-8")).hexdigest()
    return identity_hash[7:].lower() == digest


def issued_to(subject: Any, user: User) -> bool:
    """Whether the subject's identifiers name *user*: none contradicts, at least one agrees."""
    items = subject.get("identifier") if isinstance(subject, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return False
    known = {
        "name": [_plain(user.name)],
        "phoneNumber": [user.phone, "+86" + user.phone],
        "emailAddress": [],
    }
    agreed = False
    for item in items[:20]:
        if not isinstance(item, dict) or not isinstance(item.get("identityHash"), str):
            continue
        kind, value = item.get("identityType"), item["identityHash"]
        if not isinstance(kind, str) or kind not in known:
            continue
        if item.get("hashed"):
            match = any(_hash_matches(mine, value, item.get("salt")) for mine in known[kind])
        else:
            match = (_plain(value) if kind == "name" else value) in known[kind]
        if not match and known[kind]:
            return False
        agreed = agreed or match
    return agreed


# Reading an upload -------------------------------------------------------------------------------


@dataclass
class Item:
    """One achievement found in the upload, and whether it can be transferred."""

    credential_id: str
    title: str
    achievement_type: str
    hours: Decimal
    credits: Decimal | None
    occurred_on: date
    accepted: bool
    note: str = ""
    position: int | None = None
    status_url: str = ""
    status_index: int | None = None

    @property
    def type_label(self) -> str:
        return ACHIEVEMENT_TYPES.get(self.achievement_type, self.achievement_type)


@dataclass
class Examination:
    issuer: TrustedIssuer
    kind: str  # badge | record
    credential_id: str
    name: str
    holder: str
    items: list[Item] = field(default_factory=list)

    @property
    def accepted(self) -> list[Item]:
        return [item for item in self.items if item.accepted]


def ledger_key(credential_id: str) -> str:
    """``credential:<id>``; an id too long for the ledger's key column by its SHA-256."""
    key = f"credential:{credential_id}"
    if len(key) <= 100:
        return key
    return "credential:sha256:" + hashlib.sha256(credential_id.encode("utf-8")).hexdigest()


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number > MAX_HOURS:
        return None
    return number.quantize(Decimal("0.1"))


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _hours(subject: dict[str, Any], achievement: dict[str, Any]) -> Decimal:
    """学时 from the result whose description is learning hours (how our badges say it)."""
    wanted = set()
    for described in _list(achievement.get("resultDescription")):
        if (
            isinstance(described, dict)
            and isinstance(described.get("id"), str)
            and (
                described.get("resultType") == "ext:LearningHours"
                or described.get("name") == "学时"
            )
        ):
            wanted.add(described.get("id"))
    for result in _list(subject.get("result")):
        ref = result.get("resultDescription") if isinstance(result, dict) else None
        if isinstance(ref, str) and ref in wanted:
            return _decimal(result.get("value")) or Decimal("0.0")
    return Decimal("0.0")


def _item(badge: Any, position: int | None, issuer: TrustedIssuer, user: User) -> Item:
    """One badge (alone, or from a record whose proof covered it) as an Item."""
    blank = Item("", _("（无法识别的一项）"), "", Decimal("0.0"), None, date.today(), False)
    if not isinstance(badge, dict) or not BADGE_TYPES & set(_types(badge.get("type"))):
        blank.note = _("这一项不是数字学分凭证")
        return blank
    subject = (
        badge.get("credentialSubject") if isinstance(badge.get("credentialSubject"), dict) else {}
    )
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    credential_id = badge.get("id") if isinstance(badge.get("id"), str) else ""
    kind = achievement.get("achievementType")
    kind = kind if isinstance(kind, str) and len(kind) <= 40 else "Achievement"
    when = _time(badge.get("awardedDate")) or _time(badge.get("validFrom"))
    ended = subject.get("activityEndDate")
    try:
        occurred = date.fromisoformat(ended[:10]) if isinstance(ended, str) else None
    except ValueError:
        occurred = None
    item = Item(
        credential_id=credential_id[:200],
        title=" ".join(str(achievement.get("name") or badge.get("name") or "").split())[:200]
        or _("（未写明名称）"),
        achievement_type=kind,
        hours=_hours(subject, achievement),
        credits=_decimal(subject.get("creditsEarned")),
        occurred_on=occurred or (when.date() if when else date.today()),
        accepted=False,
        position=position,
    )
    issued = _time(badge.get("validFrom"))
    if not credential_id or len(credential_id) > 200:
        item.note = _("凭证没有编号，无法保证只转入一次")
    elif _issuer_id(badge.get("issuer")) != issuer.did:
        item.note = _("这一项由其他单位签发，需单独上传")
    elif verify.check_dates(badge, "badge") is not None or issued is None:
        item.note = _("已过有效期或未生效")
    elif issued.date() < issuer.trusted_from:
        item.note = _(
            "签发日期早于本县互认该单位的起始日期（%(day)s）", day=issuer.trusted_from.isoformat()
        )
    elif kind not in (issuer.achievement_types or []):
        item.note = _(
            "成果类型“%(kind)s”不在本县对该单位的互认范围内",
            kind=ACHIEVEMENT_TYPES.get(kind, kind),
        )
    elif not issued_to(subject, user):
        item.note = _("这一项不是颁发给您的")
    elif _already_imported(credential_id):
        item.note = _("这一项已经转入过了")
    else:
        place = None
        if "credentialStatus" in badge:
            place = status_place(badge["credentialStatus"], issuer)
            if place is None:
                item.note = _("撤销状态信息不在签发单位的网站上，无法核对")
                return item
            item.status_url, item.status_index = place
            if revoked_at_source(*place, issuer):
                item.note = _("已被签发单位撤销")
                return item
        item.accepted = True
    return item


def _already_imported(credential_id: str) -> bool:
    """Whether the credential stands as a pending or certified outcome here already (the
    ledger's key refuses a second posting in any case)."""
    return (
        db.session.scalar(
            select(ImportedCredential.id)
            .join(LearningOutcome, ImportedCredential.outcome_id == LearningOutcome.id)
            .where(
                ImportedCredential.credential_id == credential_id,
                LearningOutcome.status.in_((OutcomeStatus.PENDING, OutcomeStatus.CERTIFIED)),
            )
            .limit(1)
        )
        is not None
    )


def _refusal(finding: Finding) -> Refused:
    return Refused(finding.reason)


def examine(document: Any, user: User) -> Examination:
    """Read an uploaded credential for *user*. Raises :class:`Refused` (with the reason, in
    Chinese) when the file as a whole cannot be accepted; otherwise says, per achievement,
    whether it can be transferred and why not."""
    if verify.too_large(document):
        raise Refused(_("文件的内容条目过多，无法核验"), status=413, code="too_large")
    if isinstance(document, dict) and "transcript" in document and "signature" in document:
        raise Refused(_("这是学分证明的 JSON 文件；请上传对方单位签发的数字学分凭证或数字学习档案"))
    if not isinstance(document, dict) or "@context" not in document:
        raise Refused(_("这不是数字学分凭证或数字学习档案"))
    form = verify.check_form(document)
    if isinstance(form, Finding):
        raise _refusal(form)
    kind, proof = form
    issuer_did = _issuer_id(document.get("issuer"))
    if issuer_did == site.site_did():
        raise Refused(
            _("这是本平台签发的凭证，学分已经在您的账户里，不需要转入"), status=409, code="conflict"
        )
    issuer = trusted_issuer(issuer_did) if issuer_did else None
    if issuer is None:
        shown = document["issuer"].get("name") if isinstance(document.get("issuer"), dict) else None
        raise Refused(
            _(
                "签发单位“%(name)s”不在本县学分互认的可信单位名单上，不能转入。如需互认，请联系县学分银行。",
                name=str(shown or issuer_did or _("未写明"))[:100],
            ),
            status=403,
            code="untrusted_issuer",
        )
    key = key_for(issuer, proof["verificationMethod"])
    if key is None:
        raise Refused(
            _("签名所用的密钥不是可信名单为“%(name)s”登记的密钥，无法确认真伪", name=issuer.name)
        )
    for refusal in (verify.check_proof(document, key, kind), verify.check_dates(document, kind)):
        if refusal is not None:
            raise _refusal(refusal)
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict) or not issued_to(subject, user):
        holder = verify._details(document, kind).get("holder")
        raise Refused(
            _(
                "这份凭证不是颁发给您的（凭证上的持有人：%(holder)s），不能转入",
                holder=holder or _("未写明"),
            )
            if holder
            else _("这份凭证没有写明颁发给谁，或不是颁发给您的，不能转入"),
            status=403,
            code="not_yours",
        )
    credential_id = document.get("id") if isinstance(document.get("id"), str) else ""
    try:
        if "credentialStatus" in document:
            place = status_place(document["credentialStatus"], issuer)
            if place is None:
                raise Refused(_("凭证的撤销状态信息不在签发单位的网站上，无法核对是否已被撤销"))
            if revoked_at_source(*place, issuer):
                raise Refused(_("这份凭证已被签发单位撤销，不能转入"), status=409, code="revoked")
        if kind == "record":
            badges = subject.get("verifiableCredential")
            if not isinstance(badges, list) or not badges:
                raise Refused(_("数字学习档案里没有数字学分凭证"))
            items = [_item(badge, n, issuer, user) for n, badge in enumerate(badges)]
        else:
            items = [_item(document, None, issuer, user)]
    except FetchFailed as failure:
        raise Refused(failure.reason, status=424, code="status_unavailable") from None
    details = verify._details(document, kind)
    return Examination(
        issuer=issuer,
        kind=kind,
        credential_id=credential_id[:200],
        name=details.get("name", ""),
        holder=details.get("holder") or verification.mask_name(user.name),
        items=items,
    )

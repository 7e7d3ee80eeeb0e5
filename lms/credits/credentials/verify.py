"""Reading a credential file back, whatever arrives: the site's own signed transcript JSON, an
Open Badges 3.0 badge or a CLR 2.0 learner record. Never raises and never fetches: the answer
is a :class:`Finding` with a reason a person can read."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from lms.core.api import json_depth
from lms.core.time import utcnow
from lms.credits import verification
from lms.credits.credentials import did, status
from lms.credits.credentials.jsonld import (
    CREDENTIALS_V2,
    LOCAL_CONTEXTS,
    RemoteDocumentRefused,
    TooMuchWork,
    UndefinedTerm,
)
from lms.credits.credentials.proofs import CRYPTOSUITE, PROOF_TYPE, verify_proof

# Sized to the largest file the site issues: a 200-outcome learner record is 15,247 JSON nodes
# and 723 KB as downloaded (indented; 487 KB compact), its longest list 200 badges, and its
# canonicalisation takes 3.3 s (benchmarks/credentials.py). pyld's to_rdf grows with the square
# of the number of values of one property of one node (4,000 take 17 s), so a file over about
# twice that record's nodes, or with more values of one property than the record's 200 and a
# margin, is refused before any canonicalisation (worst case then about twice the record's).
MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 32_000
MAX_VALUES = 250
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential", "ClrCredential"}
STATUS_PATH = re.compile(r"/credentials/status/([1-9][0-9]{0,5})$")


@dataclass
class Finding:
    """``valid`` means genuine, in force and not revoked. ``kind`` is ``badge``, ``record``
    or ``transcript`` once the file is known to be one; ``details`` is what it says (for
    display); ``verdict`` the old transcripts' answer."""

    valid: bool
    revoked: bool
    reason: str
    kind: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    verdict: verification.Verdict | None = None

    @property
    def known(self) -> bool:
        """Whether the file was recognised as something genuine of ours (found, revoked)."""
        return self.valid or self.revoked


def _refuse(reason: str, kind: str | None = None) -> Finding:
    return Finding(False, False, reason, kind)


def parse_upload(raw: bytes) -> Any | Finding:
    """The JSON in *raw*, or a Finding saying why it is not usable (too large, not JSON, too
    deeply nested)."""
    if not raw:
        return _refuse(_("请上传学分证明、数字学分凭证或数字学习档案的 JSON 文件"))
    if len(raw) > MAX_BYTES:
        return _refuse(_("文件太大（不能超过 2 MB），请确认上传的是凭证的 JSON 文件"))
    if json_depth(raw) > MAX_DEPTH:
        return _refuse(_("文件的嵌套层数过多，不是本平台认识的凭证"))
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _refuse(_("文件不是有效的 JSON，请上传凭证的 JSON 文件"))


def _tail(name: str) -> str:
    """*name* without what a context could expand differently (``schema:name``,
    ``https://schema.org/name`` and ``name`` alike), so that counting errs on the safe side."""
    return re.split(r"[/#:]", name)[-1]


def too_large(document: Any) -> bool:
    """Whether *document* has more JSON nodes (objects, arrays and values) than
    :data:`MAX_NODES`, or more than :data:`MAX_VALUES` values of one property of one node —
    in one list, or gathered from several objects with the same ``id`` (JSON-LD merges
    them). A cheap walk that stops as soon as either is passed."""
    count, pending = 0, [document]
    values: dict[tuple, int] = {}
    while pending:
        value = pending.pop()
        count += 1
        if count > MAX_NODES:
            return True
        if isinstance(value, dict):
            node = value.get("id", value.get("@id"))
            node = _tail(node) if isinstance(node, str) else id(value)
            for key, item in value.items():
                if isinstance(item, dict) and isinstance(item.get("@set"), list):
                    item = item["@set"]
                slot = (node, _tail(str(key)))
                values[slot] = values.get(slot, 0) + (len(item) if isinstance(item, list) else 1)
                if values[slot] > MAX_VALUES:
                    return True
            pending.extend(value.values())
        elif isinstance(value, list):
            if len(value) > MAX_VALUES:
                return True
            pending.extend(value)
    return False


def check_any(document: Any) -> Finding:
    """Check an uploaded document of any of the three kinds."""
    if too_large(document):
        return _refuse(_("文件的内容条目过多，超出本平台签发的任何凭证，无法核验"))
    if isinstance(document, dict) and "transcript" in document and "signature" in document:
        verdict = verification.check_document(document)
        return Finding(
            verdict.valid,
            verdict.revoked,
            verdict.reason,
            "transcript",
            verdict=verdict,
        )
    if isinstance(document, dict) and "@context" in document:
        return check_credential(document)
    return _refuse(_("这不是学分证明、数字学分凭证或数字学习档案"))


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return []


def _issuer_id(issuer: Any) -> str | None:
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return issuer["id"]
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_form(document: dict[str, Any]) -> tuple[str, dict[str, Any]] | Finding:
    """The checks of a badge or learner record that need no key: vendored contexts only, the
    credential types, one eddsa-rdfc-2022 proof of the right form. Returns (kind, proof), or
    the refusal. Used for the site's own credentials and for those from elsewhere alike."""
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != CREDENTIALS_V2:
        return _refuse(_("这不是符合 W3C 可验证凭证 2.0 规范的凭证（@context 不正确）"))
    for context in contexts:
        if not isinstance(context, str):
            return _refuse(_("凭证的 @context 只能列出公开规范的地址"))
        if context not in LOCAL_CONTEXTS:
            return _refuse(
                _(
                    "凭证引用了本平台不认识的规范（%(context)s）；为安全起见，本平台不会联网获取它，因此无法核验",
                    context=context[:100],
                )
            )
    types = _types(document.get("type"))
    if "VerifiableCredential" not in types or not CREDENTIAL_TYPES & set(types):
        return _refuse(_("这不是数字学分凭证或数字学习档案（凭证类型不对）"))
    kind = "record" if "ClrCredential" in types else "badge"
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return _refuse(_("凭证没有电子签名，或有不止一个签名"), kind)
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return _refuse(_("不支持这种签名方式（本平台只接受 eddsa-rdfc-2022）"), kind)
    if proof.get("proofPurpose") != "assertionMethod" or not all(
        isinstance(proof.get(name), str) for name in ("proofValue", "verificationMethod", "created")
    ):
        return _refuse(_("电子签名的格式不正确"), kind)
    return kind, proof


def check_proof(document: dict[str, Any], key, kind: str) -> Finding | None:
    """None when *document*'s proof is *key*'s signature over it, else the refusal (a
    canonicalisation failure of any kind included: never an exception)."""
    try:
        genuine = verify_proof(document, key)
    except RemoteDocumentRefused as refused:
        return _refuse(
            _("凭证引用了本平台不认识的文档（%(url)s），本平台不会联网获取", url=refused.url[:100]),
            kind,
        )
    except UndefinedTerm as undefined:
        return _refuse(
            _(
                "凭证里有规范没有定义的字段（%(term)s），签名无法覆盖它，无法核验",
                term=undefined.term,
            ),
            kind,
        )
    except TooMuchWork:
        return _refuse(_("凭证的结构异常复杂，不是本平台签发的凭证，无法核验"), kind)
    except Exception:
        # JsonLdError mostly; on hostile input pyld may raise anything (TypeError, KeyError,
        # RecursionError...): each is a refusal, never a 500.
        return _refuse(_("凭证的内容不符合 JSON-LD 规范，无法核验"), kind)
    if not genuine:
        return _refuse(_("签名与内容不符，文件可能被改动过"), kind)
    return None


def check_dates(document: dict[str, Any], kind: str) -> Finding | None:
    """None when *document* is in force now (``validFrom`` past, ``validUntil`` not), else the
    refusal."""
    now = utcnow()
    valid_from = _time(document.get("validFrom"))
    if valid_from is None:
        return _refuse(_("凭证没有写明生效时间"), kind)
    if valid_from > now:
        return _refuse(_("凭证尚未生效"), kind)
    if "validUntil" in document:
        valid_until = _time(document.get("validUntil"))
        if valid_until is None or valid_until < now:
            return _refuse(_("凭证已过有效期"), kind)
    return None


def check_credential(
    document: dict[str, Any], *, nested: bool = False, covered: bool = False
) -> Finding:
    """Check a badge or learner record: its contexts, its proof against the site's keys, its
    dates and its status bit; a learner record's badges each the same way, except that their
    own proofs are not checked again (*covered*): the record's proof, already checked, covers
    every character of them."""
    form = check_form(document)
    if isinstance(form, Finding):
        return form
    kind, proof = form
    issuer = _issuer_id(document.get("issuer"))
    method = proof["verificationMethod"]
    if issuer != did.site_did() or not method.startswith(issuer + "#"):
        return _refuse(
            _("不是本平台签发的凭证（签发者：%(issuer)s）", issuer=(issuer or _("未写明"))[:100]),
            kind,
        )
    key = did.key_for(method)
    if key is None:
        return _refuse(_("签名所用的密钥不是本平台的，无法确认凭证真伪"), kind)
    refusal = None if covered else check_proof(document, key, kind)
    if refusal is None:
        refusal = check_dates(document, kind)
    if refusal is not None:
        return refusal

    place = _status_place(document.get("credentialStatus"))
    if place is None:
        return _refuse(_("凭证的撤销状态信息格式不正确，无法确认它是否仍然有效"), kind)
    details = _details(document, kind)
    if kind == "record" and not nested:
        inner = (
            document["credentialSubject"].get("verifiableCredential")
            if isinstance(document.get("credentialSubject"), dict)
            else None
        )
        if not isinstance(inner, list):
            return _refuse(_("数字学习档案里没有数字学分凭证"), kind)
        for badge in inner:
            finding = (
                check_credential(badge, nested=True, covered=True)
                if isinstance(badge, dict)
                else _refuse(_("数字学习档案里有一项不是凭证"))
            )
            if not finding.valid and not finding.revoked:
                return _refuse(
                    _(
                        "数字学习档案里的一项数字学分凭证无法核验：%(reason)s",
                        reason=finding.reason,
                    ),
                    kind,
                )
    if status.is_revoked(*place):
        return Finding(
            False, True, _("这份凭证已被签发单位撤销（学分已冲正或证明已撤销）"), kind, details
        )
    if kind == "record":
        return Finding(
            True, False, _("签名有效，内容未被改动，数字学习档案真实有效"), kind, details
        )
    return Finding(True, False, _("签名有效，内容未被改动，数字学分凭证真实有效"), kind, details)


def _status_place(entry: Any) -> tuple[int, int] | None:
    """(list, index) of a status entry that points at one of the site's revocation lists."""
    if not isinstance(entry, dict):
        return None
    index, url = entry.get("statusListIndex"), entry.get("statusListCredential")
    if (
        entry.get("type") != "BitstringStatusListEntry"
        or entry.get("statusPurpose") != "revocation"
        or not isinstance(index, str)
        or not index.isdigit()
        or len(index) > 7
        or not isinstance(url, str)
    ):
        return None
    match = STATUS_PATH.search(url)
    if match is None or int(index) >= status.LIST_SIZE:
        return None
    list_no = int(match.group(1))
    if url != status.list_url(list_no):
        return None
    return list_no, int(index)


def _details(document: dict[str, Any], kind: str) -> dict[str, Any]:
    """What a reader of the verify page wants to see, read defensively from a document whose
    signature holds (so it is ours, but shapes are still checked)."""
    subject = (
        document.get("credentialSubject")
        if isinstance(document.get("credentialSubject"), dict)
        else {}
    )
    issuer = document.get("issuer")
    out: dict[str, Any] = {
        "credential_id": str(document.get("id", ""))[:100],
        "name": str(document.get("name", ""))[:200],
        "issuer": str(issuer.get("name", "")) if isinstance(issuer, dict) else "",
        "issued_at": str(document.get("validFrom", ""))[:40],
    }
    for item in subject.get("identifier") or []:
        if isinstance(item, dict) and item.get("identityType") == "name" and not item.get("hashed"):
            out["holder"] = verification.mask_name(str(item.get("identityHash", ""))[:50])
    if kind == "badge":
        achievement = (
            subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
        )
        out["achievement"] = str(achievement.get("name", ""))[:200]
        credits = subject.get("creditsEarned")
        out["credits"] = float(credits) if isinstance(credits, int | float) else None
    else:
        badges = (
            subject.get("verifiableCredential")
            if isinstance(subject.get("verifiableCredential"), list)
            else []
        )
        out["count"] = len(badges)
        total = 0.0
        for badge in badges:
            inner = badge.get("credentialSubject") if isinstance(badge, dict) else None
            credits = inner.get("creditsEarned") if isinstance(inner, dict) else None
            total += float(credits) if isinstance(credits, int | float) else 0.0
        out["credits"] = round(total, 1)
    return out

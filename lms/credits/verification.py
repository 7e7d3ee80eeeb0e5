"""Reading transcripts back: by serial and verification code (the QR link), or from a signed
JSON document someone uploads. Both answer the same three ways: valid, revoked or invalid."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from lms.credits import signing
from lms.credits.models import Transcript
from lms.extensions import db

MAX_SERIAL = 40
# Serials are letters, digits and dashes; codes are URL-safe base64 (secrets.token_urlsafe).
SERIAL = re.compile(r"[A-Za-z0-9-]{1,40}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def find_transcript(serial: str, code: str | None) -> Transcript | None:
    """The transcript with *serial* whose code is *code*; a wrong code finds nothing, the same
    as an unknown serial, so codes cannot be guessed serial by serial."""
    serial, code = (serial or "").strip(), (code or "").strip()
    if not SERIAL.fullmatch(serial) or not CODE.fullmatch(code):
        return None  # anything else (other scripts, controls, too long) matches no transcript
    transcript = db.session.scalar(select(Transcript).filter_by(serial=serial.upper()))
    if transcript is None or not hmac.compare_digest(transcript.code.encode(), code.encode()):
        return None
    return transcript


def mask_name(name: str) -> str:
    """张秀英 → 张*英, 李明 → 李*: enough for the reader to match the person in front of them."""
    if len(name) <= 2:
        return name[:1] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass(frozen=True)
class Verdict:
    """``valid`` means genuine and not revoked."""

    valid: bool
    revoked: bool
    reason: str
    transcript: Transcript | None = None

    def summary(self) -> dict:
        out = {"valid": self.valid, "revoked": self.revoked, "reason": self.reason}
        if self.transcript is not None:
            payload = self.transcript.document["transcript"]
            out.update(
                serial=self.transcript.serial,
                holder=mask_name(payload["holder"]["name"]),
                phone=payload["holder"]["phone"],
                account_no=payload["holder"]["account_no"],
                issued_at=payload["issued_at"],
                total_credits=float(self.transcript.total_credits),
                total_hours=float(payload["total_hours"]),
                entry_count=len(payload["entries"]),
                issuer=payload["issuer"]["name"],
                revoked_at=self.transcript.revoked_at.isoformat() if self.revoked else None,
                revoked_reason=self.transcript.revoked_reason if self.revoked else None,
            )
        return out


def verdict_for(transcript: Transcript) -> Verdict:
    if transcript.revoked_at is not None:
        return Verdict(
            False,
            True,
            _("该学分证明已被撤销：%(reason)s", reason=transcript.revoked_reason),
            transcript,
        )
    return Verdict(True, False, _("该学分证明真实有效"), transcript)


def check_document(document: object) -> Verdict:
    """Check an uploaded signed JSON transcript: its signature, then our record of it."""
    result = signing.verify_document(document)
    if not result.valid:
        return Verdict(False, False, result.reason)
    serial = result.payload.get("serial") if isinstance(result.payload, dict) else None
    transcript = (
        db.session.scalar(select(Transcript).filter_by(serial=serial))
        if isinstance(serial, str) and len(serial) <= MAX_SERIAL
        else None
    )
    if transcript is None or transcript.document.get("transcript") != result.payload:
        return Verdict(False, False, _("签名有效，但本平台没有这份证明的存档"))
    return verdict_for(transcript)

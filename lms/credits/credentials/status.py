"""Bitstring Status List (W3C): one bit per issued credential, set when it is revoked (its
ledger deposit reversed, its transcript revoked), published by the site as a signed
``BitstringStatusListCredential`` at a public URL. The bits are read from the ledger and the
transcripts whenever the list is asked for, so a reversal shows at once, with nothing to keep in
step."""

from __future__ import annotations

import base64
import gzip
import io
import secrets
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, or_, select

from lms.core.time import utcnow
from lms.core.web import site_url
from lms.credits import signing
from lms.credits.credentials.did import site_did, verification_method
from lms.credits.credentials.jsonld import CREDENTIALS_V2
from lms.credits.credentials.proofs import add_proof
from lms.credits.models import LedgerEntry, StandardCredential, Transcript
from lms.extensions import db

# 131,072 bits (16 KB) per list, the specification's minimum for group privacy; indices are
# drawn at random, and a new list is begun when one is half full.
LIST_SIZE = 131_072
MAX_ENCODED = 1024 * 1024

# Signed lists by (list, key, revoked bits): signing again only when something changed. The
# least recently used one is dropped when full, so one caller cannot empty it for the others.
CACHE_SIZE = 64
_signed: OrderedDict[tuple, dict[str, Any]] = OrderedDict()


def list_url(list_no: int) -> str:
    return site_url("credits.status_list", list_no=list_no, external=True)


def allocate() -> tuple[int, int]:
    """A free (list, index) for a new credential. A taken pair is caught by the unique key
    when the row is inserted; the caller draws again."""
    count = db.session.scalar(select(func.count(StandardCredential.id))) or 0
    list_no = 1 + count // (LIST_SIZE // 2)
    return list_no, secrets.randbelow(LIST_SIZE)


def highest_list() -> int:
    """The highest list number a credential uses (1 before any is issued)."""
    return db.session.scalar(select(func.max(StandardCredential.status_list))) or 1


def entry(list_no: int, index: int) -> dict[str, Any]:
    url = list_url(list_no)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def revoked_indices(list_no: int) -> list[int]:
    """The indices in *list_no* of credentials that no longer stand."""
    reversed_entries = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    revoked_transcripts = select(Transcript.id).where(Transcript.revoked_at.is_not(None))
    return list(
        db.session.scalars(
            select(StandardCredential.status_index)
            .where(
                StandardCredential.status_list == list_no,
                or_(
                    StandardCredential.entry_id.in_(reversed_entries),
                    StandardCredential.transcript_id.in_(revoked_transcripts),
                ),
            )
            .order_by(StandardCredential.status_index)
        )
    )


def encode(indices: list[int], size: int = LIST_SIZE) -> str:
    """The ``encodedList``: the bitstring (index 0 is the first byte's highest bit), GZIP
    compressed, multibase base64url without padding (``u…``)."""
    bits = bytearray(size // 8)
    for index in indices:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode(encoded: object) -> bytes | None:
    """The bitstring of an ``encodedList``, or None when it is not one."""
    if not isinstance(encoded, str) or not encoded.startswith("u") or len(encoded) > MAX_ENCODED:
        return None
    try:
        packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-(len(encoded) - 1) % 4))
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            bits = stream.read(LIST_SIZE * 64 // 8 + 1)
    except (ValueError, OSError, EOFError):
        return None
    if not bits or len(bits) > LIST_SIZE * 64 // 8:
        return None
    return bits


def bit_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(list_no: int) -> dict[str, Any]:
    """The signed BitstringStatusListCredential of *list_no* as it stands now."""
    revoked = revoked_indices(list_no)
    key = signing.signing_key()
    url = list_url(list_no)
    cache_key = (url, signing.key_id(key.public_key()), tuple(revoked))
    cached = _signed.get(cache_key)
    if cached is not None:
        _signed.move_to_end(cache_key)
        return cached
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    unsigned = {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": site_did(),
        "validFrom": now,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode(revoked),
        },
    }
    signed = add_proof(unsigned, key, verification_method(key.public_key()), now)
    while len(_signed) >= CACHE_SIZE:
        _signed.popitem(last=False)
    _signed[cache_key] = signed
    return signed


def is_revoked(list_no: int, index: int) -> bool:
    """What the published list says of (*list_no*, *index*)."""
    bits = decode(status_list_credential(list_no)["credentialSubject"]["encodedList"])
    return bits is not None and bit_set(bits, index)

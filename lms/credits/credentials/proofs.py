"""The ``eddsa-rdfc-2022`` cryptosuite of W3C Data Integrity: an Ed25519 signature over
sha256(canonical proof options) ‖ sha256(canonical document), written base58btc with a leading
``z``; and Ed25519 public keys as Multikeys (``z6Mk…``)."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lms.credits.credentials.jsonld import canonize

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ED25519_MULTICODEC = b"\xed\x01"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rest = divmod(number, 58)
        out.append(_B58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes | None:
    """None for anything that is not base58btc (or is absurdly long)."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            return None
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multikey(public_key: Ed25519PublicKey) -> str:
    """*public_key* as a Multikey ``publicKeyMultibase`` (``z6Mk…``)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(ED25519_MULTICODEC + raw)


def public_key_from_multikey(value: str) -> Ed25519PublicKey | None:
    if not isinstance(value, str) or not value.startswith("z"):
        return None
    data = b58decode(value[1:])
    if data is None or len(data) != 34 or not data.startswith(ED25519_MULTICODEC):
        return None
    return Ed25519PublicKey.from_public_bytes(data[2:])


def _hash_data(unsecured: dict[str, Any], options: dict[str, Any]) -> bytes:
    config = {**options, "@context": unsecured.get("@context")}
    config.pop("proofValue", None)
    return (
        hashlib.sha256(canonize(config).encode("utf-8")).digest()
        + hashlib.sha256(canonize(unsecured).encode("utf-8")).digest()
    )


def add_proof(
    document: dict[str, Any],
    key: Ed25519PrivateKey,
    verification_method: str,
    created: str,
) -> dict[str, Any]:
    """*document* with a DataIntegrityProof (assertionMethod) made with *key*."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(_hash_data(unsecured, options))
    return {**unsecured, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


def verify_proof(document: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Whether *document*'s ``proof`` (already checked to be one eddsa-rdfc-2022
    DataIntegrityProof) is *public_key*'s signature over it. Canonicalisation errors
    propagate (the caller turns them into a reason)."""
    proof = document["proof"]
    signature = b58decode(proof["proofValue"][1:]) if proof["proofValue"].startswith("z") else None
    if signature is None or len(signature) != 64:
        return False
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    try:
        public_key.verify(signature, _hash_data(unsecured, proof))
    except InvalidSignature:
        return False
    return True

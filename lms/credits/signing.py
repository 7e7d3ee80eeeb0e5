"""Ed25519 signatures over transcript JSON, so that whoever holds a transcript can check it.

A signed document is ``{"transcript": <payload>, "signature": {"alg", "kid", "value"}}``; the
signature covers :func:`canonical` of the payload, so key order and whitespace added by whoever
passed the file along do not matter, while any changed character does.

The private key is a PEM file (PKCS8, unencrypted): ``LMS_TRANSCRIPT_KEY_FILE`` or
``transcript-signing-key.pem`` in the instance folder, generated on first use. Losing it does not
invalidate issued transcripts as long as its public key stays in :func:`public_keys`; that list
is where a rotated key would be kept.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import current_app
from flask_babel import gettext as _

ALGORITHM = "Ed25519"
KEY_FILE_NAME = "transcript-signing-key.pem"
RETIRED_DIR_NAME = "retired-signing-keys"
SIGNATURE_BYTES = 64

# Loaded keys by absolute path: reading and parsing the PEM on every signature is wasted work,
# and the path (not the app) is the key's identity, so two apps sharing a file share the entry.
_keys: dict[str, Ed25519PrivateKey] = {}

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class VerifyResult:
    """The answer of :func:`verify_document`: *payload* is the transcript only when *valid*."""

    valid: bool
    reason: str
    payload: dict[str, Any] | None = None


def canonical(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no spaces, UTF-8 (not ``\\u`` escapes)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for *public_key*: 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def key_file() -> Path:
    """Where the current app keeps its signing key."""
    configured = current_app.config.get("LMS_TRANSCRIPT_KEY_FILE")
    return Path(configured or Path(current_app.instance_path) / KEY_FILE_NAME)


def signing_key() -> Ed25519PrivateKey:
    """The current app's private key, loaded once per process (generated on first use)."""
    path = os.path.abspath(key_file())
    key = _keys.get(path)
    if key is None:
        key = _keys[path] = load_or_create_key(Path(path))
    return key


def public_keys() -> list[Ed25519PublicKey]:
    """Every key whose signatures this platform accepts, the current one first, then the
    retired ones (:func:`retired_public_keys`)."""
    current = signing_key().public_key()
    return [current, *(key for key in retired_public_keys() if key != current)]


def retired_key_dir() -> Path:
    """Where the public keys of rotated-out signing keys are kept (PEM files), so that what
    they signed keeps verifying: ``LMS_RETIRED_KEY_DIR`` or ``retired-signing-keys`` in the
    instance folder."""
    configured = current_app.config.get("LMS_RETIRED_KEY_DIR")
    return Path(configured or Path(current_app.instance_path) / RETIRED_DIR_NAME)


def retired_public_keys() -> list[Ed25519PublicKey]:
    """The retired keys, by file name; a file that is not an Ed25519 public key is skipped."""
    folder = retired_key_dir()
    keys = []
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (ValueError, OSError):
            continue
        if isinstance(key, Ed25519PublicKey):
            keys.append(key)
    return keys


def rotate_key() -> tuple[str, str]:
    """Retire the current key (its public half is kept in :func:`retired_key_dir`) and start
    signing with a new one. Returns the old and the new key ids."""
    old = signing_key()
    folder = retired_key_dir()
    folder.mkdir(parents=True, exist_ok=True)
    old_id = key_id(old.public_key())
    (folder / f"{old_id}.pem").write_bytes(
        old.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path = Path(os.path.abspath(key_file()))
    path.unlink()
    _keys.pop(str(path), None)
    return old_id, key_id(signing_key().public_key())


def sign_document(payload: dict[str, Any]) -> dict[str, Any]:
    """Wrap *payload* with an Ed25519 signature over :func:`canonical` of it."""
    key = signing_key()
    return {
        "transcript": payload,
        "signature": {
            "alg": ALGORITHM,
            "kid": key_id(key.public_key()),
            "value": _b64url(key.sign(canonical(payload))),
        },
    }


def verify_document(document: object) -> VerifyResult:
    """Check a document made by :func:`sign_document`. Never raises: whatever arrives (an upload,
    a pasted file) gets an answer with a reason a person can read."""
    malformed = VerifyResult(False, _("文件格式不正确"))
    if not isinstance(document, dict):
        return malformed
    payload = document.get("transcript")
    signature = document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, dict):
        return malformed
    alg, kid, value = signature.get("alg"), signature.get("kid"), signature.get("value")
    if not isinstance(alg, str) or not isinstance(kid, str) or not isinstance(value, str):
        return malformed
    if alg != ALGORITHM:
        return VerifyResult(False, _("不支持的签名算法"))

    public_key = {key_id(key): key for key in public_keys()}.get(kid)
    if public_key is None:
        return VerifyResult(False, _("不是本平台签发的学分证明（签名密钥未知）"))

    signature_bytes = _b64url_decode(value)
    if signature_bytes is None or len(signature_bytes) != SIGNATURE_BYTES:
        return VerifyResult(False, _("签名格式不正确"))
    try:
        signed = canonical(payload)
    except (TypeError, ValueError, RecursionError):
        # Only reachable from Python callers (parsed JSON always serialises again).
        return malformed
    try:
        public_key.verify(signature_bytes, signed)
    except InvalidSignature:
        return VerifyResult(False, _("签名与内容不符，文件可能被改动过"))
    return VerifyResult(True, _("签名有效，内容未被改动"), payload)


def jwks() -> dict[str, Any]:
    """The public keys as a JSON Web Key Set (RFC 8037 ``OKP`` keys), for outside verifiers."""
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(_raw(key)),
                "kid": key_id(key),
                "use": "sig",
                "alg": "EdDSA",
            }
            for key in public_keys()
        ]
    }


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the key at *path*, generating it (owner-readable only) when there is none yet."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        pem = _create_key_file(path)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new key under a private name and link it into place; return the winner's PEM.

    Linking fails when the name exists, unlike a rename, which would replace it: when a web
    process and a worker start together, the second keeps the first's key instead of
    overwriting a key that may already have signed a transcript.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    # mkstemp creates the file with mode 0600, so the key is never readable by others.
    fd, draft = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: read its key
            os.link(draft, path)
    finally:
        os.unlink(draft)
    return path.read_bytes()


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes | None:
    """Unpadded base64url to bytes; None unless *text* is exactly how :func:`_b64url` writes it
    (so one signature has one spelling)."""
    if not _BASE64URL.fullmatch(text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64url(data) == text else None

"""The site's decentralised identifier: ``did:web`` of ``LMS_PUBLIC_URL`` (the request's own
address when that is not set), and its DID document listing the current signing key and every
retired one, so credentials signed before a key rotation keep verifying."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app, has_request_context, request

from lms.credits import signing
from lms.credits.credentials.proofs import multikey, public_key_from_multikey

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def public_base() -> str:
    """The site's public base URL without a trailing slash."""
    base = current_app.config.get("LMS_PUBLIC_URL")
    if not base and has_request_context():
        base = request.host_url
    return (base or "http://localhost").rstrip("/")


def site_did() -> str:
    """``did:web:host`` (a port written ``%3A``), plus ``:segment`` for each path segment."""
    parts = urlsplit(public_base())
    did = "did:web:" + quote(parts.netloc, safe="")
    for segment in [s for s in parts.path.split("/") if s]:
        did += ":" + quote(segment, safe="")
    return did


def verification_method(public_key: Ed25519PublicKey) -> str:
    return f"{site_did()}#{multikey(public_key)}"


def did_document() -> dict[str, Any]:
    did = site_did()
    methods = [
        {
            "id": f"{did}#{multikey(key)}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(key),
        }
        for key in signing.public_keys()
    ]
    ids = [method["id"] for method in methods]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids[:1],
    }


def key_for(method: object) -> Ed25519PublicKey | None:
    """The site's key (current or retired) that *method* names, else None."""
    if not isinstance(method, str) or "#" not in method:
        return None
    did, fragment = method.split("#", 1)
    if did != site_did():
        return None
    key = public_key_from_multikey(fragment)
    if key is None or key not in signing.public_keys():
        return None
    return key

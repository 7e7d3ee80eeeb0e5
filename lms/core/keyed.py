"""Short codes keyed by the site's secret: an HMAC-SHA256 over dot-joined parts, cut to *size*
bytes and written URL-safe (check-in codes, the heartbeat's visit keys)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def keyed_code(secret: str | bytes, *parts: object, size: int) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    message = ".".join(str(part) for part in parts).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:size]).decode()

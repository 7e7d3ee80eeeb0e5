"""The only two things the credit bank ever fetches from another institution: its did:web DID
document (once, when a county registrar adds it to the trust list) and its revocation status
lists (when a credential of it is imported, and by the nightly re-check). JSON-LD contexts are
never fetched (``jsonld``).

Guarded against server-side request forgery: only ``https`` to an address that is public on the
internet (``LMS_FETCH_PRIVATE_ADDRESSES`` lets loopback and private addresses through, over
plain ``http`` too: two instances on one machine, a closed county network); the address checked
is the one connected to (no second DNS answer in between); no redirect is followed; a short
timeout and a small size limit; and callers only ask for URLs under the trusted issuer's own
origin."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import gettext as _

from lms.core.api import json_depth

TIMEOUT_S = 5.0
MAX_BYTES = 512 * 1024
MAX_DEPTH = 32


class FetchFailed(Exception):
    """Fetching did not give a usable JSON document; ``reason`` says why, in Chinese."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _private_allowed() -> bool:
    return bool(current_app.config.get("LMS_FETCH_PRIVATE_ADDRESSES"))


def _is_loopback_or_private(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def origin_of_did_web(did: str) -> str | None:
    """``https://host[:port]`` of a ``did:web`` (``http`` for a loopback or private host when
    private addresses are allowed); None when *did* is not a did:web."""
    if not isinstance(did, str) or not did.startswith("did:web:") or len(did) > 200:
        return None
    host = unquote(did.removeprefix("did:web:").split(":")[0])
    if not host or any(char in host for char in "/?#@ ") or host.startswith("["):
        return None
    scheme = "https"
    if _private_allowed() and _is_loopback_or_private(host.rsplit(":", 1)[0]):
        scheme = "http"
    return f"{scheme}://{host}"


def did_web_document_url(did: str) -> str | None:
    """Where did:web publishes *did*'s document (``/.well-known/did.json``, or
    ``/path/did.json`` for a did with path segments)."""
    origin = origin_of_did_web(did)
    if origin is None:
        return None
    segments = [unquote(part) for part in did.removeprefix("did:web:").split(":")[1:]]
    if any(not part or "/" in part or part in (".", "..") for part in segments):
        return None
    path = "/" + "/".join(segments) + "/did.json" if segments else "/.well-known/did.json"
    return origin + path


def _address(host: str, port: int) -> str:
    """The address to connect to: the first DNS answer, if every answer is public (or private
    ones are allowed)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchFailed(_("找不到对方网站（%(host)s）", host=host[:100])) from None
    addresses = [answer[4][0] for answer in answers]
    if not addresses:
        raise FetchFailed(_("找不到对方网站（%(host)s）", host=host[:100]))
    if not _private_allowed():
        for address in addresses:
            if not ipaddress.ip_address(address.split("%")[0]).is_global:
                raise FetchFailed(_("对方网站的地址不是公网地址，本平台不会访问"))
    return addresses[0]


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch_json(url: str, *, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT_S) -> Any:
    """GET *url* and parse it as JSON, under the rules in this module's docstring. Raises
    :class:`FetchFailed` with a reason a registrar or resident can read."""
    parts = urlsplit(url)
    allowed = ("https", "http") if _private_allowed() else ("https",)
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password:
        raise FetchFailed(_("本平台只访问对方网站的 https 地址"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchFailed(_("地址格式不正确")) from None
    host = parts.hostname
    address = _address(host, port)
    kind = _PinnedTLS if parts.scheme == "https" else _Pinned
    deadline = time.monotonic() + timeout
    connection = kind(host, port, address, timeout)
    try:
        connection.request(
            "GET",
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            headers={
                "Accept": "application/vc+ld+json, application/ld+json, application/json",
                "User-Agent": "lms-credit-bank",
            },
        )
        response = connection.getresponse()
        if response.status != 200:
            raise FetchFailed(_("对方网站回答了错误（HTTP %(status)s）", status=response.status))
        body = b""
        while len(body) <= max_bytes:
            if time.monotonic() > deadline:
                raise FetchFailed(_("对方网站响应太慢"))
            chunk = response.read(64 * 1024)
            if not chunk:
                break
            body += chunk
    except FetchFailed:
        raise
    except TimeoutError:
        raise FetchFailed(_("对方网站响应太慢")) from None
    except (OSError, http.client.HTTPException, ssl.SSLError):
        raise FetchFailed(_("连接不上对方网站")) from None
    finally:
        connection.close()
    if len(body) > max_bytes:
        raise FetchFailed(_("对方网站返回的内容太大"))
    if json_depth(body) > MAX_DEPTH:
        raise FetchFailed(_("对方网站返回的内容格式不正确"))
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FetchFailed(_("对方网站返回的内容格式不正确")) from None

"""JSON-LD for credentials without the network: a document loader that serves only the vendored
contexts (anything else is refused with :class:`RemoteDocumentRefused`, never fetched), and
RDF canonicalisation with it."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

CONTEXTS_DIR = Path(__file__).resolve().parent.parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR_V2 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"

# URL -> vendored file; the README beside the files says where each came from.
LOCAL_CONTEXTS = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": "credentials-undefined-terms-v2.jsonld",
    OB_V3: "ob-context-3.0.3.jsonld",
    CLR_V2: "clr-context-2.0.1.jsonld",
}


class RemoteDocumentRefused(Exception):
    """A document asked for a context (or other document) that is not vendored here."""

    def __init__(self, url: str):
        super().__init__(f"refusing to load {url!r}: only vendored contexts are served")
        self.url = url


@cache
def _context(url: str) -> dict[str, Any]:
    return json.loads((CONTEXTS_DIR / LOCAL_CONTEXTS[url]).read_text(encoding="utf-8"))


def local_document(url: str) -> dict[str, Any]:
    """The vendored document for *url* (a fresh copy); :class:`RemoteDocumentRefused` for any
    other URL."""
    if not isinstance(url, str) or url not in LOCAL_CONTEXTS:
        raise RemoteDocumentRefused(str(url)[:200])
    return copy.deepcopy(_context(url))


def document_loader(url: str, options: dict | None = None) -> dict[str, Any]:
    """pyld's document loader interface over :func:`local_document`."""
    return {"contextUrl": None, "documentUrl": url, "document": local_document(url)}


def canonize(document: dict[str, Any]) -> str:
    """The RDF canonical form (N-Quads) of *document*, contexts served locally.

    pyld's URDNA2015 is RDFC-1.0 but for how control characters are escaped in literals, and
    reproduces 1EdTech's published canonical forms byte for byte. Raises
    :class:`RemoteDocumentRefused` for a context not vendored here and ``jsonld.JsonLdError``
    for a document JSON-LD cannot process."""
    try:
        return jsonld.normalize(
            document,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": document_loader,
            },
        )
    except jsonld.JsonLdError as error:
        refused = _refused_in(error)
        if refused is not None:
            raise refused from error
        raise


def _refused_in(error: BaseException | None) -> RemoteDocumentRefused | None:
    """pyld wraps a loader's exception in JsonLdErrors (``cause`` and ``details``); find ours."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, RemoteDocumentRefused):
            return error
        details = getattr(error, "details", None)
        if isinstance(details, dict) and isinstance(details.get("cause"), RemoteDocumentRefused):
            return details["cause"]
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__
        seen += 1
    return None

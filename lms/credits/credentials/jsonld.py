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
from pyld.canon import URDNA2015

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


# N-degree hashes allowed per quad of the dataset (our 200-outcome learner record needs well
# under one).
WORK_PER_QUAD = 4


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
    """pyld's document loader interface over :func:`local_document`. The ``static`` tag lets
    pyld keep the processed context for every later document (vendored contexts never
    change); without it each canonicalisation would process them again."""
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": local_document(url),
        "tag": "static",
    }


class UndefinedTerm(Exception):
    """A property that no context defines: it would be dropped from the canonical form, so a
    signature would not cover it (JSON-LD's "safe mode", as Digital Bazaar's verifier uses)."""

    def __init__(self, term: str | None):
        super().__init__(f"undefined term {term!r}")
        self.term = str(term)[:100]


class TooMuchWork(Exception):
    """Canonicalising the document would take more work than any credential we issue needs
    (blank nodes arranged to make RDF canonicalisation exponential)."""


class _BoundedURDNA2015(URDNA2015):
    """URDNA2015 that gives up after *budget* N-degree hashes, as rdf-canonize's
    ``maxWorkFactor`` does: a document crafted to make canonicalisation explode is refused
    instead of holding a worker for hours."""

    def __init__(self, budget: int):
        super().__init__()
        self.budget = budget

    def hash_n_degree_quads(self, id_, issuer):
        self.budget -= 1
        if self.budget < 0:
            raise TooMuchWork
        return super().hash_n_degree_quads(id_, issuer)


def canonize(document: dict[str, Any]) -> str:
    """The RDF canonical form (N-Quads) of *document*, contexts served locally.

    pyld's URDNA2015 is RDFC-1.0 but for how control characters are escaped in literals, and
    reproduces 1EdTech's published canonical forms byte for byte. Raises
    :class:`RemoteDocumentRefused` for a context not vendored here, :class:`TooMuchWork` for a
    document whose canonicalisation would explode, and ``jsonld.JsonLdError`` for a document
    JSON-LD cannot process."""

    def dropped(term: str | None) -> None:
        raise UndefinedTerm(term)

    processor = jsonld.JsonLdProcessor(on_property_dropped=dropped)
    try:
        dataset = processor.to_rdf(
            document, {"documentLoader": document_loader, "produceGeneralizedRdf": False}
        )
    except UndefinedTerm:
        raise
    except jsonld.JsonLdError as error:
        undefined = _caused_by(error, UndefinedTerm)
        if undefined is not None:
            raise undefined from error
        refused = _refused_in(error)
        if refused is not None:
            raise refused from error
        raise
    quads = sum(len(triples) for triples in dataset.values())
    return _BoundedURDNA2015(budget=WORK_PER_QUAD * quads + 100).main(
        dataset, {"format": "application/n-quads"}
    )


def _refused_in(error: BaseException | None) -> RemoteDocumentRefused | None:
    return _caused_by(error, RemoteDocumentRefused)


def _caused_by(error: BaseException | None, kind: type[Exception]):
    """pyld wraps a loader's or handler's exception in JsonLdErrors (``cause`` and
    ``details``); find the one of *kind*."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, kind):
            return error
        details = getattr(error, "details", None)
        if isinstance(details, dict) and isinstance(details.get("cause"), kind):
            return details["cause"]
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__
        seen += 1
    return None

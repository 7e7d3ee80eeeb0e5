"""Signed ledger checkpoints: a ledger that cannot be shortened unseen.

Walking each chain from its first entry cannot tell a chain whose newest entries were deleted
(or a database restored from an older copy) from an honest one. So, every night and whenever a
county officer asks, the site writes down the head of every account's chain (its last sequence
number and that entry's hash) and signs it: a **checkpoint**. `lms credits verify-ledger`
then checks every chain against every checkpoint ever made: a chain shorter than a checkpoint
saw, or with another hash at that sequence, is reported, naming the account and the checkpoint.

A checkpoint is two files:

- ``checkpoint-NNNNNN.leaves.gz``: the heads, gzip, one line ``<account id> <seq> <hash>`` per
  account that has entries, in account order;
- ``checkpoint-NNNNNN.json``: ``{"checkpoint": {...}, "signature": {...}}``, signed with the
  site's Ed25519 key like transcripts (:mod:`lms.credits.signing`); it names the number, the
  time, the number of accounts and entries, the SHA-256 of the (uncompressed) leaves and the
  Merkle root over them (RFC 6962: leaf = SHA-256(0x00 ‖ line), node = SHA-256(0x01 ‖ left ‖
  right)), so one account's head can be proven with log₂(n) hashes.

Both are kept in the database (``LedgerCheckpoint``), served at ``/credits/checkpoints/…``
without sign-in, and written to the checkpoint folder (``LMS_CHECKPOINT_DIR``, by default
``ledger-checkpoints`` in the instance folder): restoring an older database also restores its
older checkpoints, and only a copy kept elsewhere shows what was lost. The folder is
append-only: a file is linked into place and never replaced.

Everything streams: the heads come from one query, read in batches; the leaves are written to
and read from compressed files; checking merges the checkpoints' leaves with one ordered scan of
the ledger. Memory does not grow with the number of accounts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import hashlib
import heapq
import io
import json
import os
import re
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from cryptography.exceptions import InvalidSignature
from flask import current_app
from sqlalchemy import and_, func, select

from lms.credits import signing
from lms.credits.models import CreditAccount, LedgerCheckpoint, LedgerEntry
from lms.extensions import db

FORMAT = "lms-ledger-checkpoint/1"
TREE = "RFC 6962 Merkle tree over the leaf lines: leaf SHA-256(0x00|line), node SHA-256(0x01|l|r)"
DIR_NAME = "ledger-checkpoints"
BATCH = 10_000
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_LEAVES_BYTES = 512 * 1024 * 1024
FETCH_TIMEOUT_S = 30
_NAME = re.compile(r"checkpoint-(\d{6,})\.json")
_LINE = re.compile(rb"(\d{1,18}) (\d{1,18}) ([0-9a-f]{64})\n")


class BadCheckpoint(Exception):
    """A checkpoint that cannot be trusted: unreadable, badly signed, or leaves that do not
    match what was signed. The message says which and why, in plain words."""


# The Merkle tree ------------------------------------------------------------------------------


class MerkleRoot:
    """The RFC 6962 root of leaves added one by one, in O(log n) memory: a stack of the roots
    of complete subtrees, merged as they fill up, folded from the right at the end."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.count = 0

    def add(self, leaf: bytes) -> None:
        height, digest = 0, hashlib.sha256(b"\x00" + leaf).digest()
        while self._stack and self._stack[-1][0] == height:
            _height, left = self._stack.pop()
            height, digest = height + 1, hashlib.sha256(b"\x01" + left + digest).digest()
        self._stack.append((height, digest))
        self.count += 1

    def hexdigest(self) -> str:
        if not self._stack:
            return hashlib.sha256(b"").hexdigest()
        digest = self._stack[-1][1]
        for _height, left in reversed(self._stack[:-1]):
            digest = hashlib.sha256(b"\x01" + left + digest).digest()
        return digest.hex()


# Heads and leaves -----------------------------------------------------------------------------


def stream_heads() -> Iterator[tuple[int, int, str]]:
    """(account id, last seq, its hash) of every account with entries, in account order: one
    query, read in batches."""
    last = (
        select(LedgerEntry.account_id, func.max(LedgerEntry.seq).label("seq"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    query = (
        select(LedgerEntry.account_id, LedgerEntry.seq, LedgerEntry.hash)
        .join(
            last, and_(LedgerEntry.account_id == last.c.account_id, LedgerEntry.seq == last.c.seq)
        )
        .order_by(LedgerEntry.account_id)
        .execution_options(yield_per=BATCH)
    )
    yield from (tuple(row) for row in db.session.execute(query))


def leaf_line(account_id: int, seq: int, digest: str) -> bytes:
    return f"{account_id} {seq} {digest}\n".encode("ascii")


@dataclass(frozen=True)
class Leaves:
    """What :func:`build_leaves` made: the compressed file and what the signature covers."""

    gz: bytes
    sha256: str
    root: str
    accounts: int
    entries: int


def build_leaves(heads: Iterable[tuple[int, int, str]]) -> Leaves:
    """Compress *heads* into the leaves file while hashing them (the file is spooled to disk
    past a few MB; only the compressed bytes are ever held whole, to store them)."""
    tree, whole, entries = MerkleRoot(), hashlib.sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as out:
            for account_id, seq, digest in heads:
                line = leaf_line(account_id, seq, digest)
                out.write(line)
                whole.update(line)
                tree.add(line[:-1])
                entries += seq
        spool.seek(0)
        gz = spool.read()
    return Leaves(gz, whole.hexdigest(), tree.hexdigest(), tree.count, entries)


def read_leaves(stream: IO[bytes]) -> Iterator[tuple[int, int, str]]:
    """The (account id, seq, hash) lines of a gzip leaves file; :class:`BadCheckpoint` for
    anything else (a damaged file, a line out of order)."""
    previous = 0
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as lines:
            for line in lines:
                found = _LINE.fullmatch(line)
                if found is None:
                    raise BadCheckpoint("a line of its leaves is not 'account seq hash'")
                account_id, seq = int(found[1]), int(found[2])
                if account_id <= previous or seq < 1:
                    raise BadCheckpoint("its leaves are not in account order")
                previous = account_id
                yield account_id, seq, found[3].decode("ascii")
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise BadCheckpoint(f"its leaves file cannot be read ({error})") from None


def check_leaves(payload: dict[str, Any], stream: IO[bytes]) -> None:
    """The leaves are the ones signed: same SHA-256, Merkle root and counts."""
    tree, whole, entries = MerkleRoot(), hashlib.sha256(), 0
    for account_id, seq, digest in read_leaves(stream):
        line = leaf_line(account_id, seq, digest)
        whole.update(line)
        tree.add(line[:-1])
        entries += seq
    if whole.hexdigest() != payload.get("leaves_sha256") or tree.hexdigest() != payload.get("root"):
        raise BadCheckpoint("its leaves do not match the signed hash and Merkle root")
    if tree.count != payload.get("accounts") or entries != payload.get("entries"):
        raise BadCheckpoint("its leaves do not match the signed counts")


# Signing --------------------------------------------------------------------------------------


def sign(payload: dict[str, Any]) -> dict[str, Any]:
    key = signing.signing_key()
    value = key.sign(signing.canonical(payload))
    return {
        "checkpoint": payload,
        "signature": {
            "alg": signing.ALGORITHM,
            "kid": signing.key_id(key.public_key()),
            "value": base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii"),
        },
    }


def verified_payload(document: object) -> dict[str, Any]:
    """The payload of a signed checkpoint, once its signature holds under the site's current
    or a retired key; :class:`BadCheckpoint` otherwise."""
    if not isinstance(document, dict):
        raise BadCheckpoint("it is not a signed checkpoint")
    payload, signature = document.get("checkpoint"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, dict):
        raise BadCheckpoint("it is not a signed checkpoint")
    if payload.get("format") != FORMAT or not isinstance(payload.get("number"), int):
        raise BadCheckpoint("it is not a signed checkpoint of this format")
    if signature.get("alg") != signing.ALGORITHM:
        raise BadCheckpoint("its signature algorithm is not Ed25519")
    kid, value = signature.get("kid"), signature.get("value")
    if not isinstance(kid, str) or not isinstance(value, str):
        raise BadCheckpoint("it is not a signed checkpoint")
    key = {signing.key_id(k): k for k in signing.public_keys()}.get(kid)
    if key is None:
        raise BadCheckpoint("it is signed with a key this site never had")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        key.verify(raw, signing.canonical(payload))
    except (binascii.Error, ValueError, InvalidSignature):
        raise BadCheckpoint("its signature does not match its content") from None
    return payload


# The folder outside the database --------------------------------------------------------------


def folder() -> Path:
    configured = current_app.config.get("LMS_CHECKPOINT_DIR")
    return Path(configured or Path(current_app.instance_path) / DIR_NAME)


def file_names(number: int) -> tuple[str, str]:
    return f"checkpoint-{number:06d}.json", f"checkpoint-{number:06d}.leaves.gz"


def folder_numbers(where: Path | None = None) -> list[int]:
    where = where or folder()
    if not where.is_dir():
        return []
    return sorted(int(found[1]) for p in where.iterdir() if (found := _NAME.fullmatch(p.name)))


def document_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def write_to_folder(document: dict[str, Any], leaves_gz: bytes) -> Path:
    """Write a checkpoint's two files into the folder, leaves first (the signed JSON appears
    last, so its presence means both are complete). A name that exists is never replaced:
    the same bytes again are fine, other bytes are an error."""
    where = folder()
    where.mkdir(parents=True, exist_ok=True)
    manifest, leaves = file_names(document["checkpoint"]["number"])
    _link_new(where / leaves, leaves_gz)
    return _link_new(where / manifest, document_bytes(document))


def _link_new(path: Path, data: bytes) -> Path:
    fd, draft = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            if path.read_bytes() != data:
                raise BadCheckpoint(f"{path} already exists with other content") from None
    finally:
        os.unlink(draft)
    return path


# Where checkpoints come from ------------------------------------------------------------------


@dataclass
class Source:
    """One copy of a checkpoint: where it came from, its signed document, and how to open its
    leaves (a binary gzip stream)."""

    origin: str
    document: Any
    open_leaves: Callable[[], IO[bytes]]
    payload: dict[str, Any] = field(default_factory=dict)


def database_sources() -> list[Source]:
    def opener(checkpoint_id: int) -> Callable[[], IO[bytes]]:
        def open_leaves() -> IO[bytes]:
            # Spooled to a file, so that many checkpoints' leaves are never in memory at once.
            spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed by its reader)
            spool.write(
                db.session.scalar(select(LedgerCheckpoint.leaves).filter_by(id=checkpoint_id))
            )
            spool.seek(0)
            return spool

        return open_leaves

    rows = db.session.execute(
        select(LedgerCheckpoint.id, LedgerCheckpoint.number, LedgerCheckpoint.document).order_by(
            LedgerCheckpoint.number
        )
    ).all()
    return [Source("database", document, opener(row_id)) for row_id, _n, document in rows]


def file_source(path: Path, origin: str | None = None) -> Source:
    """A checkpoint's signed JSON file; its leaves are the ``.leaves.gz`` beside it."""
    leaves = path.with_name(path.name.removesuffix(".json") + ".leaves.gz")
    try:
        raw = path.read_bytes()[: MAX_DOCUMENT_BYTES + 1]
        document = json.loads(raw) if len(raw) <= MAX_DOCUMENT_BYTES else None
    except (OSError, ValueError, RecursionError) as error:
        raise BadCheckpoint(f"{path} cannot be read ({error})") from None
    return Source(origin or str(path), document, lambda: leaves.open("rb"))


def folder_sources() -> list[Source]:
    where = folder()
    sources = []
    for number in folder_numbers(where):
        path = where / file_names(number)[0]
        try:
            sources.append(file_source(path, origin=f"folder {where}"))
        except BadCheckpoint:
            # Unreadable: kept as a source whose document is refused, so the check says so.
            sources.append(Source(str(path), None, lambda: io.BytesIO()))
    return sources


def url_source(url: str) -> Source:
    """A checkpoint published at *url* (``…/credits/checkpoints/latest`` or ``…/<number>``,
    as a transcript names it); its leaves at ``…/credits/checkpoints/<number>/leaves.gz``."""
    try:
        document = json.loads(_fetch(url, MAX_DOCUMENT_BYTES))
    except (ValueError, RecursionError):
        raise BadCheckpoint(f"{url} is not JSON") from None
    number = (
        (document.get("checkpoint") or {}).get("number") if isinstance(document, dict) else None
    )
    base = url.split("?", 1)[0].rstrip("/")
    leaves_url = urljoin(base + "/", f"../{number}/leaves.gz") if number is not None else ""

    def open_leaves() -> IO[bytes]:
        return io.BytesIO(_fetch(leaves_url, MAX_LEAVES_BYTES))

    return Source(url, document, open_leaves)


def _fetch(url: str, limit: int) -> bytes:
    if urlsplit(url).scheme not in ("http", "https"):
        raise BadCheckpoint(f"{url} is not an http(s) address")
    try:
        # The scheme is checked above; the address is the operator's (verify-ledger --checkpoint).
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310  # nosec B310
            data = answer.read(limit + 1)
    except (OSError, ValueError) as error:
        raise BadCheckpoint(f"{url} cannot be fetched ({error})") from None
    if len(data) > limit:
        raise BadCheckpoint(f"{url} is too large")
    return data


def given_source(where: str) -> Source:
    """A checkpoint named on the command line: an http(s) address or a file."""
    if urlsplit(where).scheme in ("http", "https"):
        return url_source(where)
    return file_source(Path(where))


# Checking chains against checkpoints ----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong, in words an operator can act on."""

    message: str
    account_id: int | None = None
    number: int | None = None


@dataclass
class CheckpointReport:
    checkpoints: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_all(extra: Iterable[Source] = ()) -> CheckpointReport:
    """Check every chain against every checkpoint: the database's, the folder's and *extra*
    (a file or address given by whoever runs the check)."""
    report = CheckpointReport()
    sources = [*database_sources(), *folder_sources(), *extra]
    kept: dict[tuple[int, str], Source] = {}
    by_number: dict[int, set[str]] = {}
    for source in sources:
        try:
            source.payload = verified_payload(source.document)
        except BadCheckpoint as error:
            report.problems.append(Problem(f"checkpoint from {source.origin} refused: {error}"))
            continue
        number = source.payload["number"]
        fingerprint = str(source.payload.get("root"))
        # Every copy's leaves are checked (a damaged copy is worth knowing about); the chains
        # are then compared with one copy of each distinct checkpoint.
        try:
            with contextlib.closing(source.open_leaves()) as stream:
                check_leaves(source.payload, stream)
        except (BadCheckpoint, OSError) as error:
            report.problems.append(
                Problem(f"checkpoint {number} from {source.origin} refused: {error}", number=number)
            )
            continue
        kept.setdefault((number, fingerprint), source)
        by_number.setdefault(number, set()).add(fingerprint)
    for number, roots in sorted(by_number.items()):
        if len(roots) > 1:
            report.problems.append(
                Problem(
                    f"checkpoint {number} exists in two signed versions (an older database "
                    "restored, then checkpointed again?)",
                    number=number,
                )
            )
    in_folder = set(folder_numbers())
    for source in kept.values():
        if source.origin == "database" and source.payload["number"] not in in_folder:
            report.warnings.append(
                f"checkpoint {source.payload['number']} is in the database but not in {folder()}"
            )
    report.checkpoints = sorted(by_number)
    report.problems.extend(_compare(list(kept.values())))
    return report


def _compare(sources: list[Source]) -> list[Problem]:
    """Merge every checkpoint's leaves (each in account order) with one ordered scan of the
    ledger; each leaf must be an entry of the chain, with the same hash."""
    if not sources:
        return []
    streams = [contextlib.closing(source.open_leaves()) for source in sources]
    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(stream) for stream in streams]
        statements = heapq.merge(
            *(
                (
                    (account, seq, digest, source.payload["number"])
                    for account, seq, digest in read_leaves(stream)
                )
                for source, stream in zip(sources, opened, strict=True)
            )
        )
        found: list[tuple[int, int, int, str]] = []
        entries = db.session.execute(
            select(LedgerEntry.account_id, LedgerEntry.seq, LedgerEntry.hash)
            .order_by(LedgerEntry.account_id, LedgerEntry.seq)
            .execution_options(yield_per=BATCH)
        )
        cursor = next(entries, None)
        for account, seq, digest, number in statements:
            while cursor is not None and (cursor[0], cursor[1]) < (account, seq):
                cursor = next(entries, None)
            if cursor is None or (cursor[0], cursor[1]) != (account, seq):
                found.append((account, number, seq, "missing"))
            elif cursor[2] != digest:
                found.append((account, number, seq, "differs"))
        entries.close()
    return [_problem(*item) for item in found]


def _problem(account_id: int, number: int, seq: int, kind: str) -> Problem:
    account_no = db.session.scalar(select(CreditAccount.account_no).filter_by(id=account_id))
    length = db.session.scalar(
        select(func.max(LedgerEntry.seq)).where(LedgerEntry.account_id == account_id)
    )
    name = f"account {account_no or '?'} (id {account_id})"
    if kind == "missing":
        message = (
            f"{name}: checkpoint {number} saw {seq} entries, the chain has {length or 0} "
            "(entries deleted, or an older copy of the database restored)"
        )
    else:
        message = f"{name}: entry {seq} is not the one checkpoint {number} saw (another hash)"
    return Problem(message, account_id, number)


# What transcripts and credentials name --------------------------------------------------------


def latest() -> LedgerCheckpoint | None:
    return db.session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.number.desc()).limit(1)
    )


def reference(checkpoint: LedgerCheckpoint | None = None) -> dict[str, Any] | None:
    """How a transcript or credential names the checkpoint it was issued under (the latest):
    its number, Merkle root and public address; None before the first checkpoint."""
    from lms.core.web import site_url

    checkpoint = checkpoint or latest()
    if checkpoint is None:
        return None
    return {
        "number": checkpoint.number,
        "root": checkpoint.root,
        "url": site_url("credits.checkpoint", number=checkpoint.number, external=True),
    }

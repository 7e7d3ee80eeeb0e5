"""The hash chain of the ledger (law 3), as pure functions over entry content.

Each entry's hash is the SHA-256 of its canonical content, which includes the hash of the
account's previous entry. Changing, removing or reordering any row therefore breaks the chain
from that row on, and :func:`check_chain` says where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

GENESIS = "0" * 64
SCALE = Decimal("0.1")


def quantize(value: Decimal | int | str) -> Decimal:
    """Credits to one decimal, rounding half up (the published rule); never via float."""
    if isinstance(value, float):
        raise TypeError("credits are never floats")
    return Decimal(value).quantize(SCALE, rounding=ROUND_HALF_UP)


def canonical_content(
    *,
    account_id: int,
    seq: int,
    idempotency_key: str,
    kind: str,
    amount: Decimal,
    balance: Decimal,
    outcome_id: int | None,
    reverses_id: int | None,
    rule_id: int | None,
    memo: str,
    posted_by_id: int | None,
    occurred_at: datetime,
    prev_hash: str,
) -> bytes:
    """The bytes an entry's hash covers: sorted-key JSON, decimals and times as fixed text."""
    content = {
        "account_id": account_id,
        "amount": f"{quantize(amount):.1f}",
        "balance": f"{quantize(balance):.1f}",
        "idempotency_key": idempotency_key,
        "kind": str(kind),
        "memo": memo,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "outcome_id": outcome_id,
        "posted_by_id": posted_by_id,
        "prev_hash": prev_hash,
        "reverses_id": reverses_id,
        "rule_id": rule_id,
        "seq": seq,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(**content) -> str:
    return hashlib.sha256(canonical_content(**content)).hexdigest()


def hash_of(entry) -> str:
    """Recompute the hash of a stored entry (any object with the ledger's attributes)."""
    return entry_hash(
        account_id=entry.account_id,
        seq=entry.seq,
        idempotency_key=entry.idempotency_key,
        kind=entry.kind,
        amount=entry.amount,
        balance=entry.balance,
        outcome_id=entry.outcome_id,
        reverses_id=entry.reverses_id,
        rule_id=entry.rule_id,
        memo=entry.memo,
        posted_by_id=entry.posted_by_id,
        occurred_at=entry.occurred_at,
        prev_hash=entry.prev_hash,
    )


@dataclass(frozen=True)
class Break:
    """The first entry at which an account's chain does not hold, and why."""

    entry_id: int | None
    seq: int
    problem: str


def check_chain(entries: Iterable, *, balance: Decimal | None = None, count: int | None = None):
    """Walk one account's entries in ``seq`` order. Returns the first :class:`Break`, or None
    when every link, running balance and (if given) the account's cached balance and entry
    count agree."""
    prev_hash, running, expected_seq = GENESIS, Decimal("0.0"), 1
    for entry in entries:
        where = {"entry_id": entry.id, "seq": entry.seq}
        if entry.seq != expected_seq:
            return Break(**where, problem=f"sequence gap: expected {expected_seq}")
        if entry.prev_hash != prev_hash:
            return Break(**where, problem="prev_hash does not match the previous entry's hash")
        if hash_of(entry) != entry.hash:
            return Break(**where, problem="content does not match its hash")
        running += entry.amount
        if entry.balance != running:
            return Break(**where, problem=f"running balance {entry.balance} != {running}")
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    if count is not None and count != expected_seq - 1:
        return Break(
            None, expected_seq, f"account says {count} entries, chain has {expected_seq - 1}"
        )
    if balance is not None and balance != running:
        return Break(None, expected_seq, f"account balance {balance} != sum of entries {running}")
    return None

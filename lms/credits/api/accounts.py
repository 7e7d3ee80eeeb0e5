"""The resident's credit account and its ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_login import current_user
from pydantic import BaseModel

from lms.core.api import endpoint
from lms.credits import api_bp, operations
from lms.credits.models import LedgerEntry


def credits_number(value: Decimal | None) -> float | None:
    """A credit (or hour) amount as a JSON number; None stays null."""
    return None if value is None else float(value)


class EntryOut(BaseModel):
    id: int
    seq: int
    occurred_at: datetime
    kind: str
    amount: float
    balance: float
    outcome: int | None
    reverses: int | None
    memo: str


class CreditsOut(BaseModel):
    account_no: str | None
    balance: float
    entries: list[EntryOut]


def entry_out(entry: LedgerEntry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        seq=entry.seq,
        occurred_at=entry.occurred_at,
        kind=str(entry.kind),
        amount=float(entry.amount),
        balance=float(entry.balance),
        outcome=entry.outcome_id,
        reverses=entry.reverses_id,
        memo=entry.memo,
    )


@endpoint(api_bp, "/me/credits", "GET", summary="我的学分账户与流水", response=CreditsOut)
def my_credits():
    account = operations.account_for(current_user)
    entries = operations.entries_newest_first(account)
    return CreditsOut(
        account_no=account.account_no if account else None,
        balance=float(account.balance) if account else 0.0,
        entries=[entry_out(entry) for entry in entries],
    ).model_dump(mode="json")

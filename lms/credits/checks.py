"""`lms credits verify-ledger`: walk every account's chain (law 3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from lms.credits import ledger
from lms.credits.models import CreditAccount, LedgerEntry
from lms.extensions import db


@dataclass(frozen=True)
class BrokenAccount:
    account_id: int
    account_no: str
    entry_id: int | None
    seq: int
    problem: str


@dataclass
class Report:
    accounts: int = 0
    entries: int = 0
    broken: list[BrokenAccount] = field(default_factory=list)


def verify_ledger(*, progress: Callable[[int], object] = lambda n: None) -> Report:
    """Check every account; one account's entries are read at a time, in seq order."""
    report = Report()
    accounts = db.session.execute(
        select(
            CreditAccount.id,
            CreditAccount.account_no,
            CreditAccount.balance,
            CreditAccount.entry_count,
        ).order_by(CreditAccount.id)
    ).all()
    for account_id, account_no, balance, count in accounts:
        entries = db.session.scalars(
            select(LedgerEntry).filter_by(account_id=account_id).order_by(LedgerEntry.seq)
        ).all()
        report.accounts += 1
        report.entries += len(entries)
        found = ledger.check_chain(entries, balance=balance, count=count)
        if found is not None:
            report.broken.append(
                BrokenAccount(account_id, account_no, found.entry_id, found.seq, found.problem)
            )
        db.session.expunge_all()
        progress(1)
    # Entries whose account is missing cannot be walked at all.
    orphans = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id.not_in(select(CreditAccount.id))).limit(1)
    ).first()
    if orphans is not None:
        report.broken.append(
            BrokenAccount(
                orphans.account_id, "?", orphans.id, orphans.seq, "entry of an unknown account"
            )
        )
    return report

"""Credit accounts and posting to the ledger (law 3).

Postings to one account are serialised by touching the account's row first (a row lock on
PostgreSQL, the write lock on SQLite); inside that, the idempotency key is checked again, so a
retried or concurrent posting of the same outcome finds the first one instead of doubling it.
The unique constraints on the key and on (account, seq) stand behind that as a last guard.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import Role, RoleGrant, User
from lms.core.errors import Conflict
from lms.core.time import local_date, utcnow
from lms.credits import ledger
from lms.credits.models import (
    ConversionRule,
    CreditAccount,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
)
from lms.extensions import db


def account_for(user: User) -> CreditAccount | None:
    return db.session.scalar(select(CreditAccount).filter_by(user_id=user.id))


def entries_newest_first(account: CreditAccount | None) -> list[LedgerEntry]:
    """The account's ledger for display (none when the resident has no account yet)."""
    if account is None:
        return []
    return list(
        db.session.scalars(
            select(LedgerEntry).filter_by(account_id=account.id).order_by(LedgerEntry.seq.desc())
        )
    )


def open_account(user: User, *, now: datetime | None = None) -> CreditAccount:
    """The resident's credit account, opened now if they have none. The number is the county
    code, the year of opening and a sequence within that year: 510521-2026-000123."""
    return open_accounts([user], now=now)[user.id]


OPEN_CHUNK = 500  # users per statement: well under SQLite's limit on bound parameters


def open_accounts(users: list[User], *, now: datetime | None = None) -> dict[int, CreditAccount]:
    """Each of *users*' credit accounts by user id, opening the missing ones (numbered in the
    order given) with one read of the existing accounts, one of the year's highest sequence and
    one insert, in a savepoint. When a parallel request took one of the numbers or opened one of
    these accounts first, the unique keys on (year, sequence) and user_id refuse the insert: the
    savepoint alone is undone and all three steps run again from the database as it now is."""
    now = now or utcnow()
    year = local_date(now).year
    county = current_app.config["LMS_COUNTY_CODE"]
    accounts: dict[int, CreditAccount] = {}
    for start in range(0, len(users), OPEN_CHUNK):
        chunk = users[start : start + OPEN_CHUNK]
        for _attempt in range(20):
            existing = _accounts_of([user.id for user in chunk])
            accounts.update(existing)
            missing = [user for user in chunk if user.id not in existing]
            if not missing:
                break
            last = db.session.scalar(select(func.max(CreditAccount.sequence)).filter_by(year=year))
            opened = [
                CreditAccount(
                    user_id=user.id,
                    account_no=f"{county}-{year}-{sequence:06d}",
                    year=year,
                    sequence=sequence,
                    opened_at=now,
                    balance=Decimal("0.0"),
                    entry_count=0,
                )
                for sequence, user in enumerate(missing, start=(last or 0) + 1)
            ]
            if _add_all_unique(opened):
                accounts.update((account.user_id, account) for account in opened)
                break
        else:
            raise Conflict(_("学分账户暂时无法开立，请稍后再试"))
    return accounts


def _accounts_of(user_ids: list[int]) -> dict[int, CreditAccount]:
    rows = db.session.scalars(select(CreditAccount).where(CreditAccount.user_id.in_(user_ids)))
    return {account.user_id: account for account in rows}


def _add_all_unique(rows: list[CreditAccount]) -> bool:
    """core.rows.add_unique for several rows at once: all go in, or (a unique key taken) none
    do, the savepoint alone is undone and the rows leave the session."""
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
            db.session.flush()
    except IntegrityError:
        for row in rows:
            if row in db.session:
                db.session.expunge(row)
        return False
    return True


def open_missing_accounts() -> int:
    """Open accounts for residents who have none; returns how many were opened."""
    missing = db.session.scalars(
        select(User)
        .where(
            User.id.in_(select(RoleGrant.user_id).filter_by(role=Role.RESIDENT)),
            User.id.not_in(select(CreditAccount.user_id)),
        )
        .order_by(User.id)
    ).all()
    open_accounts(list(missing))
    return len(missing)


def lock_account(account: CreditAccount) -> None:
    # A no-op UPDATE: it takes the row lock on PostgreSQL and the write lock on SQLite, so
    # postings to one account happen one after another and each sees the last one's hash.
    db.session.execute(
        update(CreditAccount)
        .where(CreditAccount.id == account.id)
        .values(entry_count=CreditAccount.entry_count)
        .execution_options(synchronize_session=False)
    )


def find_entry(key: str) -> LedgerEntry | None:
    return db.session.scalar(select(LedgerEntry).filter_by(idempotency_key=key))


def post_entry(
    account: CreditAccount,
    *,
    key: str,
    amount: Decimal,
    kind: EntryKind = EntryKind.DEPOSIT,
    outcome: LearningOutcome | None = None,
    reverses: LedgerEntry | None = None,
    rule: ConversionRule | None = None,
    memo: str = "",
    posted_by: User | None = None,
    now: datetime | None = None,
) -> tuple[LedgerEntry, bool]:
    """Append one entry to *account*'s chain. Posting a key that is already in the ledger
    returns that entry and False: retries and races never double."""
    amount = ledger.quantize(amount)  # refuses floats
    existing = find_entry(key)
    if existing is not None:
        return existing, False
    lock_account(account)
    existing = find_entry(key)  # a parallel posting may have won while we waited
    if existing is not None:
        return existing, False
    # Another posting may have moved the account since we loaded it: without a fresh copy, a
    # new balance equal to the stale one would look unchanged and not be written.
    db.session.refresh(account)
    last = db.session.scalar(
        select(LedgerEntry)
        .filter_by(account_id=account.id)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)  # the head of the chain only: an ORM scalar() would load every row
    )
    seq = (last.seq if last else 0) + 1
    prev_hash = last.hash if last else ledger.GENESIS
    balance = (last.balance if last else Decimal("0.0")) + amount
    # Both databases keep microseconds, so the hash can be recomputed from the stored row.
    occurred_at = now or utcnow()
    content = {
        "account_id": account.id,
        "seq": seq,
        "idempotency_key": key,
        "kind": kind,
        "amount": amount,
        "balance": balance,
        "outcome_id": outcome.id if outcome else None,
        "reverses_id": reverses.id if reverses else None,
        "rule_id": rule.id if rule else None,
        "memo": memo[:500],
        "posted_by_id": posted_by.id if posted_by else None,
        "occurred_at": occurred_at,
        "prev_hash": prev_hash,
    }
    entry = LedgerEntry(**content, hash=ledger.entry_hash(**content))
    db.session.add(entry)
    account.entry_count = seq
    account.balance = balance
    db.session.flush()
    return entry, True

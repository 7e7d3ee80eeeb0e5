"""Ledger checkpoint benchmark: a county of credit accounts with real hash chains, then the
time, memory and size of making a signed checkpoint and of checking every chain against the
checkpoints (``lms credits verify-ledger``'s second half).

    python benchmarks/ledger_checkpoints.py --accounts 100000 --entries 3          # SQLite
    python benchmarks/ledger_checkpoints.py --db postgresql+psycopg://postgres@127.0.0.1:55442/lms_bench

Users and accounts are generated inside the database; entries are chained in Python (each
hash covers its predecessor, as posting does) and inserted in batches. Memory is measured with
tracemalloc (Python allocations: the peak while making or checking a checkpoint, which must not
grow with the number of accounts) and as the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, literal, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from participation import pg, series

from lms import create_app
from lms.accounts import operations as accounts
from lms.accounts.models import Level, User
from lms.credits import checkpoints, ledger
from lms.credits.models import CreditAccount, EntryKind, LedgerEntry
from lms.credits.tasks import make_checkpoint_now
from lms.extensions import db

BATCH = 20_000


def timed(label: str, function, *, memory: bool = False):
    if memory:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    seconds = time.perf_counter() - started
    extra = f" (CPU {time.process_time() - cpu:.2f} s)"
    if memory:
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        extra += f", Python peak {peak / 1024**2:.1f} MiB"
    print(f"{label}: {seconds:.2f} s{extra}", flush=True)
    return result, seconds


def generate(n_accounts: int, per_account: int) -> int:
    county = accounts.create_org_unit(
        name="泸县", code="510521", level=Level.COUNTY, parent=None, population=764_362
    )
    db.session.commit()
    s = series(n_accounts).subquery()
    phone = (
        func.concat("13", func.lpad(func.cast(s.c.i, db.String), 9, "0"))
        if pg()
        else func.printf("13%09d", s.c.i)
    )
    db.session.execute(
        insert(User).from_select(
            ["phone", "name", "password_hash", "org_unit_id", "birth_year", "active"],
            select(
                phone,
                literal("居民"),
                literal("x"),
                literal(county.id),
                literal(1960),
                literal(True),
            ),
        )
    )
    number = (
        func.concat("510521-2026-", func.lpad(func.cast(User.id, db.String), 6, "0"))
        if pg()
        else func.printf("510521-2026-%06d", User.id)
    )
    db.session.execute(
        insert(CreditAccount).from_select(
            ["user_id", "account_no", "year", "sequence", "opened_at", "balance", "entry_count"],
            select(
                User.id,
                number,
                literal(2026),
                User.id,
                literal(datetime(2026, 1, 1, tzinfo=UTC)),
                literal(Decimal(per_account)),
                literal(per_account),
            ),
        )
    )
    db.session.commit()
    ids = list(db.session.scalars(select(CreditAccount.id).order_by(CreditAccount.id)))
    rows, total, when = [], 0, datetime(2026, 3, 1, tzinfo=UTC)
    for account_id in ids:
        prev, balance = ledger.GENESIS, Decimal("0.0")
        for seq in range(1, per_account + 1):
            balance += Decimal("1.0")
            content = {
                "account_id": account_id,
                "seq": seq,
                "idempotency_key": f"bench:{account_id}:{seq}",
                "kind": EntryKind.DEPOSIT,
                "amount": Decimal("1.0"),
                "balance": balance,
                "outcome_id": None,
                "reverses_id": None,
                "rule_id": None,
                "memo": "",
                "posted_by_id": None,
                "occurred_at": when + timedelta(seconds=seq),
                "prev_hash": prev,
            }
            digest = ledger.entry_hash(**content)
            rows.append({**content, "hash": digest})
            prev = digest
        if len(rows) >= BATCH:
            db.session.connection().execute(LedgerEntry.__table__.insert(), rows)
            total += len(rows)
            rows = []
    if rows:
        db.session.connection().execute(LedgerEntry.__table__.insert(), rows)
        total += len(rows)
    db.session.commit()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=3, help="entries per account")
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lms-checkpoint-bench-"))
    app = create_app(
        {
            "LMS_INSTANCE_DIR": str(folder / "instance"),
            "SQLALCHEMY_DATABASE_URI": args.db or f"sqlite:///{folder / 'bench.sqlite3'}",
            "LMS_MEDIA_DIR": str(folder / "media"),
            "LMS_QUEUE_IMMEDIATE": True,
        }
    )
    with app.app_context():
        if pg():
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        db.create_all()
        print(f"database: {db.engine.dialect.name}; {args.accounts:,} accounts")
        total, _s = timed(
            f"generate {args.accounts:,} accounts × {args.entries} chained entries",
            lambda: generate(args.accounts, args.entries),
        )
        if pg():
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        timed(
            "checkpoint 1 (heads query, leaves, Merkle root, sign, store, folder)",
            make_checkpoint_now,
        )
        timed("checkpoint 2, measured with tracemalloc", make_checkpoint_now, memory=True)
        latest = checkpoints.latest()
        size = len(latest.leaves)
        print(
            f"  {latest.accounts:,} accounts, {total:,} entries; leaves file {size / 1024**2:.2f} MiB "
            f"({size / latest.accounts:.1f} bytes per account); signed JSON "
            f"{len(checkpoints.document_bytes(latest.document))} bytes"
        )
        db.session.expunge_all()
        report, _s = timed(
            "check every chain against both checkpoints (database + folder copies)",
            checkpoints.check_all,
        )
        assert not report.problems, report.problems[:3]
        timed("the same, measured with tracemalloc", checkpoints.check_all, memory=True)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"process peak RSS {rss_after / 1024:.0f} MiB (before the checkpoints {rss_before / 1024:.0f} MiB)"
        )
        print(f"files in {checkpoints.folder()}")


if __name__ == "__main__":
    main()

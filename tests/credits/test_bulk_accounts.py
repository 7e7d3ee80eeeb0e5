"""Opening many credit accounts at once (a resident import's chunk): one account per user,
numbers unique and following on from the year's last, nothing opened twice, and the same when
other requests open accounts at the same time."""

from __future__ import annotations

import random

from sqlalchemy import delete, func, select

from lms.accounts.models import User
from lms.core.time import local_date, utcnow
from lms.credits import operations
from lms.credits.models import CreditAccount
from lms.extensions import db
from tests.credits.test_concurrency import WORKERS, app_config, at_once  # noqa: F401


def without_accounts(create_user, count: int) -> list[User]:
    """*count* new residents whose accounts (opened by the sign-up signal) are closed again, as
    if they came from before the credit bank."""
    users = [create_user(name=f"居民{n}") for n in range(count)]
    ids = [user.id for user in users]
    db.session.execute(delete(CreditAccount).where(CreditAccount.user_id.in_(ids)))
    db.session.commit()
    db.session.expire_all()
    return users


def accounts_by_user() -> dict[int, list[CreditAccount]]:
    db.session.expire_all()
    found: dict[int, list[CreditAccount]] = {}
    for account in db.session.scalars(select(CreditAccount)):
        found.setdefault(account.user_id, []).append(account)
    return found


def test_bulk_open_gives_each_one_numbered_account_and_a_rerun_opens_nothing(resident, create_user):
    kept = operations.account_for(resident)
    kept_id, kept_no = kept.id, kept.account_no
    last = db.session.scalar(select(func.max(CreditAccount.sequence)))
    users = without_accounts(create_user, 6)
    year = local_date(utcnow()).year

    opened = operations.open_accounts([*users[:3], resident, *users[3:]])
    db.session.commit()

    assert set(opened) == {user.id for user in [*users, resident]}
    assert opened[resident.id].id == kept_id
    assert opened[resident.id].account_no == kept_no
    # The new ones follow the year's last number in the order given, none skipped.
    assert [opened[user.id].sequence for user in users] == list(range(last + 1, last + 7))
    assert [opened[user.id].account_no for user in users] == [
        f"510521-{year}-{sequence:06d}" for sequence in range(last + 1, last + 7)
    ]
    accounts = accounts_by_user()
    assert all(len(accounts[user.id]) == 1 for user in [*users, resident])

    again = operations.open_accounts([*users, resident])
    db.session.commit()
    assert {user_id: account.id for user_id, account in again.items()} == {
        user_id: account.id for user_id, account in opened.items()
    }
    assert db.session.scalar(select(func.count(CreditAccount.id))) == sum(
        len(rows) for rows in accounts.values()
    )
    assert operations.open_missing_accounts() == 0


def test_bulk_and_single_opens_at_once_open_each_account_once(app, create_user):
    """Half the workers open the whole list (each in its own order), half open one account:
    on PostgreSQL they read the same highest number and collide on the unique keys."""
    users = without_accounts(create_user, 12)
    ids = [user.id for user in users]
    before = db.session.scalar(select(func.max(CreditAccount.sequence))) or 0
    counter = iter(range(WORKERS))

    def work():
        n = next(counter)
        mine = [db.session.get(User, user_id) for user_id in ids]
        if n % 2:
            operations.open_account(mine[n % len(mine)])
        else:
            random.Random(n).shuffle(mine)
            operations.open_accounts(mine)

    results = at_once(app, work)
    assert "ok" in results, results
    assert not [r for r in results if r.startswith("refused")], results

    accounts = accounts_by_user()
    assert all(len(accounts[user_id]) == 1 for user_id in ids)
    sequences = sorted(accounts[user_id][0].sequence for user_id in ids)
    assert sequences == list(range(before + 1, before + 13))  # unique, none skipped
    assert len({accounts[user_id][0].account_no for user_id in ids}) == 12

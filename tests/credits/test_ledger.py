"""The ledger (law 3): append-only, idempotent, hash-chained, Decimal; `lms credits
verify-ledger` finds a row changed behind the application's back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from lms.core.errors import OperationError
from lms.credits import ledger, operations
from lms.credits.checks import verify_ledger
from lms.credits.models import EntryKind, LedgerEntry, OutcomeStatus, Transcript
from lms.extensions import db
from tests.credits.conftest import complete_course, submit


def chain(account) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).filter_by(account_id=account.id).order_by(LedgerEntry.seq)
        )
    )


def test_entries_link_into_a_chain(resident):
    account = operations.account_for(resident)
    first, _ = operations.post_entry(account, key="test:1", amount=Decimal("1.5"))
    second, _ = operations.post_entry(account, key="test:2", amount=Decimal("0.5"))
    assert first.prev_hash == ledger.GENESIS
    assert second.prev_hash == first.hash
    assert (first.seq, second.seq) == (1, 2)
    assert second.balance == Decimal("2.0") == account.balance
    assert ledger.check_chain(chain(account), balance=account.balance, count=2) is None


def test_posting_a_key_again_returns_the_first_entry(resident):
    account = operations.account_for(resident)
    first, new = operations.post_entry(account, key="outcome:99", amount=Decimal("1.0"))
    again, new_again = operations.post_entry(account, key="outcome:99", amount=Decimal("7.0"))
    assert (new, new_again) == (True, False)
    assert again.id == first.id
    assert account.balance == Decimal("1.0")


def test_credits_are_never_floats(resident):
    with pytest.raises(TypeError):
        operations.post_entry(operations.account_for(resident), key="f", amount=0.1)


def test_rounding_is_half_up_to_one_decimal():
    assert ledger.quantize(Decimal("0.05")) == Decimal("0.1")
    assert ledger.quantize(Decimal("0.04999")) == Decimal("0.0")
    assert ledger.quantize(Decimal(10) / Decimal(16)) == Decimal("0.6")


def test_entries_cannot_be_changed_or_deleted_through_the_application(resident):
    entry, _ = operations.post_entry(
        operations.account_for(resident), key="k", amount=Decimal("1.0")
    )
    db.session.commit()
    entry.amount = Decimal("9.0")
    with pytest.raises(RuntimeError, match="law 3"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(entry)
    with pytest.raises(RuntimeError, match="law 3"):
        db.session.flush()
    db.session.rollback()


def test_a_reversal_names_its_entry_revokes_outcome_and_transcripts(resident, registrar):
    outcome = submit(resident, hours="16")
    entry = operations.certify_outcome(registrar, outcome)
    transcript = operations.issue_transcript(resident)
    db.session.commit()
    reversal = operations.reverse_entry(registrar, entry, reason="证书系伪造")
    db.session.commit()
    assert reversal.kind is EntryKind.REVERSAL
    assert reversal.reverses_id == entry.id
    assert reversal.amount == Decimal("-1.0")
    assert operations.account_for(resident).balance == Decimal("0.0")
    assert outcome.status is OutcomeStatus.REVOKED
    db.session.refresh(transcript)
    assert transcript.revoked_at is not None
    assert transcript.revoked_reason == "证书系伪造"
    # Twice, or a reversal of a reversal: refused, nothing more posted.
    for target in (entry, reversal):
        with pytest.raises(OperationError) as refused:
            operations.reverse_entry(registrar, target, reason="再来一次")
        assert refused.value.status == 409
        db.session.rollback()
    assert len(chain(operations.account_for(resident))) == 2


def test_only_registrars_in_scope_reverse(resident, create_user, registrar):
    from lms.accounts.models import Role

    entry = operations.certify_outcome(registrar, submit(resident))
    db.session.commit()
    outsider = create_user(Role.REGISTRAR, "嘉明镇", name="外镇专员")
    for actor in (outsider, resident):
        with pytest.raises(OperationError) as refused:
            operations.reverse_entry(actor, entry, reason="没有理由")
        assert refused.value.status == 403
    db.session.rollback()


# Property: any sequence of postings, retries and reversals keeps the books. -------------------

steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.integers(0, 7), st.integers(-500, 500)),
        st.tuples(st.just("retry"), st.integers(0, 7), st.integers(-500, 500)),
        st.tuples(st.just("reverse"), st.integers(0, 7), st.just(0)),
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_any_sequence_keeps_balance_and_chain(create_user, registrar, steps):
    resident = create_user(name="属性测试")
    account = operations.account_for(resident)
    posted: dict[int, LedgerEntry] = {}
    reversed_ids: set[int] = set()
    for action, slot, tenths in steps:
        key = f"prop:{account.id}:{slot}"
        amount = Decimal(tenths) / 10
        if action in ("post", "retry"):
            entry, new = operations.post_entry(account, key=key, amount=amount)
            assert new == (slot not in posted)
            posted.setdefault(slot, entry)
            assert entry.id == posted[slot].id
        elif slot in posted:
            target = posted[slot]
            if target.id in reversed_ids:
                with pytest.raises(OperationError):
                    operations.reverse_entry(registrar, target, reason="更正")
            else:
                operations.reverse_entry(registrar, target, reason="更正")
                reversed_ids.add(target.id)
        db.session.commit()
    entries = chain(account)
    db.session.refresh(account)
    assert account.balance == sum((e.amount for e in entries), Decimal("0.0"))
    assert ledger.check_chain(entries, balance=account.balance, count=account.entry_count) is None
    assert len({e.idempotency_key for e in entries}) == len(entries)
    standing = sum(posted[s].amount for s in posted if posted[s].id not in reversed_ids)
    assert account.balance == standing


# verify-ledger --------------------------------------------------------------------------------


@pytest.fixture
def books(resident, registrar, create_course):
    complete_course(resident, create_course(hours=16))
    operations.certify_outcome(registrar, submit(resident, hours="8"))
    operations.certify_outcome(registrar, submit(resident, hours="4", title="献血"))
    db.session.commit()
    return chain(operations.account_for(resident))


def run_verify(app):
    return app.test_cli_runner().invoke(args=["credits", "verify-ledger"])


def test_verify_ledger_passes_on_honest_books(app, books):
    result = run_verify(app)
    assert result.exit_code == 0, result.output + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE ledger_entry SET amount = 5.0 WHERE id = {second}",
        "UPDATE ledger_entry SET memo = 'x' WHERE id = {second}",
        "UPDATE ledger_entry SET balance = 99.0, amount = 98.5 WHERE id = {second}",
        "DELETE FROM ledger_entry WHERE id = {second}",
        "UPDATE credit_account SET balance = 12.0",
    ],
)
def test_verify_ledger_finds_a_row_changed_by_sql(app, books, tamper):
    second = books[1].id
    db.session.commit()
    if tamper.startswith("DELETE"):
        # The reversal-less entry in the middle can go; foreign keys would refuse others.
        db.session.execute(text(tamper.format(second=books[2].id)))
    else:
        db.session.execute(text(tamper.format(second=second)))
    db.session.commit()
    db.session.expire_all()
    result = run_verify(app)
    assert result.exit_code == 1
    assert "BROKEN account" in result.stderr
    if "ledger_entry" in tamper and "DELETE" not in tamper:
        assert f"entry id={second} seq=2" in result.stderr


def test_verify_ledger_report_counts(app, books):
    report = verify_ledger()
    assert report.entries == 3
    assert report.broken == []
    assert report.accounts >= 2


def test_transcripts_only_list_standing_entries(resident, registrar, books):
    operations.reverse_entry(registrar, books[0], reason="课程作废")
    transcript = operations.issue_transcript(resident)
    db.session.commit()
    rows = transcript.document["transcript"]["entries"]
    assert [row["entry_id"] for row in rows] == [books[1].id, books[2].id]
    assert transcript.total_credits == Decimal("0.8")
    assert db.session.scalar(select(Transcript).filter_by(serial=transcript.serial))

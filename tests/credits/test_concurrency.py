"""Fifty at once: threads on SQLite, or as many PostgreSQL connections when the suite runs on
PostgreSQL (LMS_TEST_DATABASE_URL). Whatever the interleaving, one posting per outcome."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from lms.accounts.models import AuditEntry, User
from lms.core.errors import OperationError
from lms.core.time import utcnow
from lms.courses.models import Course
from lms.credits import ledger, operations
from lms.credits.models import LearningOutcome, LedgerEntry
from lms.extensions import db
from lms.learning import operations as learning
from tests.credits.conftest import HOURS_REASON, complete_course, submit

WORKERS = 50


@pytest.fixture
def app_config():
    # One connection per worker, so all fifty really are in the database at once.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": WORKERS + 2, "max_overflow": 0}}


def at_once(app, work) -> list[str]:
    """Run *work* in WORKERS threads released together; each gets its own app context (and so
    its own session and connection). Returns what each thread ended with."""
    barrier = threading.Barrier(WORKERS)
    results: list[str] = []
    lock = threading.Lock()

    def run():
        with app.app_context():
            barrier.wait()
            try:
                work()
                db.session.commit()
                outcome = "ok"
            except OperationError as error:
                db.session.rollback()
                outcome = f"refused {error.status}"
            except (StaleDataError, OperationalError) as error:
                db.session.rollback()
                outcome = f"retry {type(error).__name__}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == WORKERS, results
    return results


def entries_for(user_id: int) -> list[LedgerEntry]:
    db.session.expire_all()
    account = operations.account_for(db.session.get(User, user_id))
    return list(
        db.session.scalars(
            select(LedgerEntry).filter_by(account_id=account.id).order_by(LedgerEntry.seq)
        )
    )


def assert_books_hold(user_id: int, expected: Decimal) -> None:
    entries = entries_for(user_id)
    account = operations.account_for(db.session.get(User, user_id))
    db.session.refresh(account)
    assert ledger.check_chain(entries, balance=account.balance, count=account.entry_count) is None
    assert account.balance == expected


def test_fifty_completions_of_the_same_course_post_once(app, resident, create_course):
    course = create_course(hours=16, lessons=1)
    learning.enrol(resident, course)
    learning.open_lesson(resident, course.lessons[0], now=utcnow() - timedelta(hours=1))
    db.session.commit()
    user_id, course_id = resident.id, course.id

    def complete():
        user = db.session.get(User, user_id)
        lesson = db.session.get(Course, course_id).lessons[0]
        learning.mark_learnt(user, lesson)

    results = at_once(app, complete)
    assert results.count("ok") >= 1, results
    assert len(entries_for(user_id)) == 1
    assert db.session.scalar(select(func.count(LearningOutcome.id))) == 1
    assert_books_hold(user_id, Decimal("1.0"))


def test_fifty_postings_of_the_same_completion_post_once(app, resident, create_course):
    """Below the learning feature's own guard: the credit bank alone keeps it to one."""
    course = create_course(hours=24, lessons=1)
    learning.enrol(resident, course)
    db.session.commit()
    user_id, course_id = resident.id, course.id

    def record():
        enrolment = learning.find_enrolment(
            db.session.get(User, user_id), db.session.get(Course, course_id)
        )
        operations.record_course_completion(enrolment)

    results = at_once(app, record)
    assert results.count("ok") >= 1, results
    assert len(entries_for(user_id)) == 1
    assert_books_hold(user_id, Decimal("1.5"))


def test_fifty_registrars_certifying_one_outcome_post_once(app, resident, registrar):
    outcome = submit(resident, hours="8")
    outcome_id, registrar_id, user_id = outcome.id, registrar.id, resident.id

    def certify():
        operations.certify_outcome(
            db.session.get(User, registrar_id), db.session.get(LearningOutcome, outcome_id)
        )

    results = at_once(app, certify)
    assert results.count("ok") == 1, results
    assert all(r in ("ok", "refused 409") or r.startswith("retry") for r in results), results
    assert len(entries_for(user_id)) == 1
    assert_books_hold(user_id, Decimal("0.5"))


def test_fifty_different_postings_to_one_account_all_chain(app, resident):
    user_id = resident.id
    counter = iter(range(WORKERS))
    counter_lock = threading.Lock()

    def post():
        with counter_lock:
            number = next(counter)
        account = operations.account_for(db.session.get(User, user_id))
        operations.post_entry(account, key=f"parallel:{number}", amount=Decimal("0.1"))

    results = at_once(app, post)
    assert results.count("ok") == WORKERS, results
    assert [e.seq for e in entries_for(user_id)] == list(range(1, WORKERS + 1))
    assert_books_hold(user_id, Decimal("5.0"))


def test_fifty_certifications_of_one_courses_hours_certify_and_credit_once(
    app, resident, registrar, create_course
):
    course = create_course(hours=16, lessons=1, certified=False)
    complete_course(resident, course)
    registrar_id, course_id, user_id = registrar.id, course.id, resident.id

    def certify():
        operations.certify_course_hours(
            db.session.get(User, registrar_id),
            db.session.get(Course, course_id),
            hours="16",
            reason=HOURS_REASON,
        )

    results = at_once(app, certify)
    assert results.count("ok") == 1, results
    assert set(results) <= {"ok", "refused 409", "retry OperationalError"}, results
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1
    assert len(entries_for(user_id)) == 1
    assert_books_hold(user_id, Decimal("1.0"))

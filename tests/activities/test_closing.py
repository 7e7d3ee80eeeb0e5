"""Attendance becomes learning: closing an activity turns each attendance into an activity outcome
certified in the organising unit's name, converted by the rules for activities and posted once
(ledger key ``attendance:<id>``) — also when check-ins and closings race — and corrections after
closing reverse or add with a reason."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from lms.accounts.models import Notice, User
from lms.activities import codes, operations
from lms.activities.models import Activity, ActivityStatus, Attendance, CheckInMethod
from lms.core.errors import OperationError
from lms.core.time import local, utcnow
from lms.credits import ledger
from lms.credits import operations as credits
from lms.credits.models import (
    ConversionRule,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    OutcomeStatus,
    RuleMode,
)
from lms.extensions import db
from lms.records import learning_file
from tests.conftest import sign_in

WORKERS = 12


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": WORKERS + 2, "max_overflow": 0}}


def entries(user) -> list[LedgerEntry]:
    account = credits.account_for(user)
    return list(
        db.session.scalars(
            select(LedgerEntry).filter_by(account_id=account.id).order_by(LedgerEntry.seq)
        )
    )


def test_closing_turns_attendance_into_certified_credits_once(
    client, make_activity, organiser, create_user
):
    db.session.add(
        ConversionRule(kind=OutcomeKind.ACTIVITY, mode=RuleMode.PER_HOURS, hours_per_credit=4)
    )
    db.session.commit()
    lecture = make_activity(hours=Decimal("2"), needs_check_out=True)
    scanned, ticked, left_early = (create_user(name=n) for n in ("扫码者", "刘奶奶", "早退者"))
    attendance, _ = operations.check_in(lecture, scanned, method=CheckInMethod.SCAN)
    operations.check_out(lecture, attendance)
    operations.add_attendance(organiser, lecture, ticked)
    operations.check_in(lecture, left_early, method=CheckInMethod.SCAN)  # never checked out
    db.session.commit()

    sign_in(client, organiser)
    response = client.post(f"/activities/{lecture.id}/close")
    assert response.status_code == 302
    assert client.post(f"/activities/{lecture.id}/close").status_code == 409
    db.session.expire_all()
    assert lecture.status is ActivityStatus.CLOSED

    for person in (scanned, ticked):
        outcome = db.session.scalar(select(LearningOutcome).filter_by(user_id=person.id))
        assert outcome.kind is OutcomeKind.ACTIVITY
        assert outcome.status is OutcomeStatus.CERTIFIED
        assert outcome.certifying_unit_id == lecture.unit_id
        assert outcome.issuer == "福集镇"
        (entry,) = entries(person)
        assert entry.amount == Decimal("0.5")  # 2 学时 at 4 学时 a credit
        assert entry.idempotency_key == f"attendance:{outcome.attendance_id}"
        # The learning file shows the activity's name, place and hours.
        items = learning_file.build(person).items
        shown = next(item for item in items if item.kind is learning_file.ItemKind.OUTCOME)
        assert shown.title == lecture.title
        assert shown.hours == Decimal("2.0")
        assert lecture.place in shown.detail
    assert db.session.scalar(select(LearningOutcome).filter_by(user_id=left_early.id)) is None
    # Closing again (the periodic task after the organiser) changes nothing.
    assert operations.close_due_activities(now=utcnow() + timedelta(days=1)) == 0
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 2


def test_corrections_after_closing(make_activity, organiser, create_user):
    lecture = make_activity(hours=Decimal("16"))
    wrong, forgotten = create_user(name="误签者"), create_user(name="漏记者")
    attendance, _ = operations.check_in(lecture, wrong, method=CheckInMethod.SCAN)
    operations.close_activity(lecture, by=organiser)
    db.session.commit()
    assert [e.amount for e in entries(wrong)] == [Decimal("1.0")]

    with pytest.raises(OperationError, match="原因"):
        operations.void_attendance(organiser, attendance, reason=" ")
    db.session.rollback()
    operations.void_attendance(organiser, attendance, reason="代签，本人未到场")
    db.session.commit()
    deposit, reversal = entries(wrong)
    assert reversal.kind is EntryKind.REVERSAL
    assert reversal.reverses_id == deposit.id
    assert reversal.balance == Decimal("0.0")
    outcome = db.session.scalar(select(LearningOutcome).filter_by(user_id=wrong.id))
    assert outcome.status is OutcomeStatus.REVOKED
    with pytest.raises(OperationError, match="撤销过了"):
        operations.void_attendance(organiser, attendance, reason="再撤一次")
    db.session.rollback()

    with pytest.raises(OperationError, match="原因"):
        operations.add_attendance(organiser, lecture, forgotten, reason="")
    db.session.rollback()
    operations.add_attendance(organiser, lecture, forgotten, reason="签到表上有名字")
    db.session.commit()
    assert [e.amount for e in entries(forgotten)] == [Decimal("1.0")]

    # After the correction window nothing changes any more.
    lecture.closed_at = utcnow() - timedelta(days=8)
    db.session.commit()
    late = create_user(name="迟来者")
    with pytest.raises(OperationError, match="超过 7 天"):
        operations.add_attendance(organiser, lecture, late, reason="补记")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Attendance.id))) == 2


def test_the_day_before_notice_and_the_periodic_close(make_activity, create_user):
    tomorrow = make_activity(start_in=timedelta(days=1), needs_registration=True)
    resident = create_user(name="报名者")
    operations.register(resident, tomorrow)
    db.session.commit()
    # Noon of the local day before the start (whatever the time of day the test runs at).
    start = local(tomorrow.starts_at)
    now = start.replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    now = now.astimezone(UTC)
    assert operations.send_reminders(now=now) == 1
    assert operations.send_reminders(now=now) == 0
    db.session.commit()
    titles = db.session.scalars(select(Notice.title).filter_by(user_id=resident.id)).all()
    assert titles == [f"明天有活动：{tomorrow.title}"]

    operations.check_in(tomorrow, resident, method=CheckInMethod.SCAN, now=tomorrow.starts_at)
    db.session.commit()
    assert operations.close_due_activities(now=tomorrow.ends_at) == 0  # within the margin
    assert operations.close_due_activities(now=tomorrow.ends_at + timedelta(hours=1)) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1


def at_once(app, works) -> list[str]:
    """Run each of *works* in its own thread (own app context, session and connection),
    released together."""
    barrier = threading.Barrier(len(works))
    results: list[str] = []
    lock = threading.Lock()

    def run(work):
        with app.app_context():
            barrier.wait()
            for _attempt in range(8):
                try:
                    work()
                    db.session.commit()
                    outcome = "ok"
                    break
                except OperationError as error:
                    db.session.rollback()
                    outcome = f"refused {error.status}"
                    break
                except (StaleDataError, OperationalError) as error:
                    # What the web's retry does for a view: run it again, fresh.
                    db.session.rollback()
                    outcome = f"conflict {type(error).__name__}"
            db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(works), results
    return results


def test_parallel_check_ins_and_closings_post_once(app, make_activity, create_user):
    lecture = make_activity(hours=Decimal("16"))
    people = [create_user(name=f"居民{n}") for n in range(WORKERS // 2)]
    activity_id, ids = lecture.id, [person.id for person in people]

    def check_in(user_id):
        def work():
            activity = db.session.get(Activity, activity_id)
            operations.check_in(activity, db.session.get(User, user_id), method=CheckInMethod.SCAN)

        return work

    # Each resident twice at once: one attendance each.
    results = at_once(app, [check_in(user_id) for user_id in ids for _ in range(2)])
    assert "ok" in results
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Attendance.id))) == len(ids)

    def close():
        operations.close_activity(db.session.get(Activity, activity_id))

    def late_check_in():
        activity = db.session.get(Activity, activity_id)
        operations.check_in(activity, db.session.get(User, ids[0]), method=CheckInMethod.SCAN)

    results = at_once(app, [close] * (WORKERS - 2) + [late_check_in] * 2)
    assert results.count("ok") >= 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Attendance.id))) == len(ids)
    closes = db.session.scalar(
        select(func.count(Activity.id)).where(Activity.closed_at.is_not(None))
    )
    assert closes == 1
    outcomes = db.session.scalars(select(LearningOutcome)).all()
    assert len(outcomes) == len(ids)
    assert len({outcome.attendance_id for outcome in outcomes}) == len(ids)
    for user_id in ids:
        user = db.session.get(User, user_id)
        (entry,) = entries(user)
        assert entry.amount == Decimal("1.0")
        account = credits.account_for(user)
        assert not ledger.check_chain(entries(user), balance=account.balance, count=1)
    # Closing once more, however, posts nothing.
    results = at_once(app, [close] * 4)
    assert results == ["refused 409"] * 4
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == len(ids)


def test_done_when_a_town_school_lecture_reaches_43_learning_files(
    make_activity, organiser, create_user
):
    """A town school's 讲堂: 40 residents scan the projected code, three elderly residents are
    ticked by hand; the next morning all 43 see it and its credits in their learning file. The
    code forwarded a minute later checks nobody in."""
    lecture = make_activity(hours=Decimal("2"))
    scanners = [create_user(name=f"扫码{n}") for n in range(40)]
    elderly = [create_user(name=f"长者{n}") for n in range(3)]
    shown_at = utcnow()
    projected = codes.rotating_code(lecture, shown_at)
    for person in scanners:
        assert codes.rotating_code_fresh(lecture, projected, shown_at + timedelta(seconds=10))
        operations.check_in(
            lecture, person, method=CheckInMethod.SCAN, device_id=f"{person.id:032d}"
        )
    for person in elderly:
        operations.add_attendance(organiser, lecture, person)
    db.session.commit()
    forwarded_opened_at = shown_at + timedelta(minutes=1)
    assert not codes.rotating_code_fresh(lecture, projected, forwarded_opened_at)

    next_morning = lecture.ends_at + timedelta(hours=14)
    assert operations.close_due_activities(now=next_morning) == 1
    db.session.commit()
    assert not operations.shared_devices(lecture)
    for person in scanners + elderly:
        items = learning_file.build(person).items
        titles = {(item.kind, item.title) for item in items}
        assert (learning_file.ItemKind.OUTCOME, lecture.title) in titles
        credit = next(item for item in items if item.kind is learning_file.ItemKind.CREDIT)
        assert credit.title == lecture.title
        assert credit.credits == Decimal("0.1")  # 2 学时 at the default 16 学时 a credit

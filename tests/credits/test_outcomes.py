"""Outcomes: a completed course is certified by the system and posted once; offline outcomes
wait for a registrar in scope; bad input is refused and posts nothing."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Notice, Role
from lms.core.errors import OperationError
from lms.core.time import local_date, utcnow
from lms.credits import operations
from lms.credits.models import (
    CreditAccount,
    LearningOutcome,
    LedgerEntry,
    OutcomeEvidence,
    OutcomeKind,
    OutcomeStatus,
)
from lms.extensions import db
from lms.learning import operations as learning
from tests.credits.conftest import complete_course, pdf_bytes, png_bytes, submit, yesterday


def entries_of(user) -> list[LedgerEntry]:
    account = operations.account_for(user)
    return list(db.session.scalars(select(LedgerEntry).filter_by(account_id=account.id)))


def test_every_resident_gets_an_account_with_a_county_number(resident, create_user):
    other = create_user(name="赵强")
    first, second = operations.account_for(resident), operations.account_for(other)
    year = local_date(utcnow()).year
    assert first.account_no == f"510521-{year}-000001"
    assert second.account_no == f"510521-{year}-000002"
    assert first.balance == Decimal("0.0")


def test_open_missing_accounts_covers_residents_from_before_the_bank(resident):
    db.session.delete(operations.account_for(resident))
    db.session.commit()
    assert operations.open_missing_accounts() == 1
    assert operations.open_missing_accounts() == 0


def test_completing_a_course_posts_its_credits_once(resident, create_course):
    course = create_course(hours=8)
    complete_course(resident, course)
    outcome = db.session.scalar(select(LearningOutcome).filter_by(user_id=resident.id))
    assert outcome.kind is OutcomeKind.ONLINE_COURSE
    assert outcome.status is OutcomeStatus.CERTIFIED
    assert outcome.certifying_unit.name == "福集镇"  # the teacher's unit provides the course
    [entry] = entries_of(resident)
    assert entry.amount == Decimal("0.5")  # 8 学时 at the default 16 学时 = 1 学分
    assert entry.idempotency_key == f"outcome:{outcome.id}"
    # Completion retried every way it can be: nothing more is posted.
    for lesson in course.lessons:
        learning.mark_learnt(resident, lesson)
    enrolment = learning.find_enrolment(resident, course)
    operations.record_course_completion(enrolment)
    operations.record_course_completion(enrolment)
    db.session.commit()
    assert len(entries_of(resident)) == 1
    assert operations.account_for(resident).balance == Decimal("0.5")


def test_withdrawing_and_reenrolling_does_not_earn_twice(resident, create_course):
    course = create_course(hours=32)
    complete_course(resident, course)
    learning.withdraw(resident, course)
    complete_course(resident, course)
    assert [entry.amount for entry in entries_of(resident)] == [Decimal("2.0")]


def test_offline_outcome_is_certified_by_a_registrar_in_scope(resident, town_registrar):
    outcome = submit(resident, hours="8")
    assert outcome.status is OutcomeStatus.PENDING
    assert entries_of(resident) == []
    [evidence] = outcome.evidence
    assert evidence.content_type == "image/jpeg"  # photos are re-encoded, EXIF dropped
    operations.certify_outcome(town_registrar, outcome)
    db.session.commit()
    assert outcome.status is OutcomeStatus.CERTIFIED
    assert outcome.certifying_unit.name == "福集镇"
    assert outcome.decided_by_id == town_registrar.id
    assert [entry.amount for entry in entries_of(resident)] == [Decimal("0.5")]
    notice = db.session.scalar(select(Notice).filter_by(user_id=resident.id))
    assert "已通过认证" in notice.title
    assert "0.5" in notice.title


def test_certifying_twice_is_a_conflict_and_posts_once(resident, registrar):
    outcome = submit(resident)
    operations.certify_outcome(registrar, outcome)
    db.session.commit()
    with pytest.raises(OperationError) as refused:
        operations.certify_outcome(registrar, outcome)
    assert refused.value.status == 409
    db.session.rollback()
    assert len(entries_of(resident)) == 1


def test_registrars_outside_the_residents_unit_cannot_decide(resident, create_user):
    other_town = create_user(Role.REGISTRAR, "嘉明镇", name="嘉明专员")
    teacher = create_user(Role.TEACHER, "泸县", name="县教师")
    outcome = submit(resident)
    for outsider in (other_town, teacher, resident):
        with pytest.raises(OperationError) as refused:
            operations.certify_outcome(outsider, outcome)
        assert refused.value.status == 403
        with pytest.raises(OperationError):
            operations.reject_outcome(outsider, outcome, reason="材料不清楚")
    db.session.rollback()
    assert outcome.status is OutcomeStatus.PENDING
    assert entries_of(resident) == []


def test_rejection_needs_a_reason_and_tells_the_resident(resident, registrar):
    outcome = submit(resident)
    with pytest.raises(OperationError):
        operations.reject_outcome(registrar, outcome, reason=" ")
    db.session.rollback()
    operations.reject_outcome(registrar, outcome, reason="证书照片看不清，请重新拍摄")
    db.session.commit()
    assert outcome.status is OutcomeStatus.REJECTED
    notice = db.session.scalar(select(Notice).filter_by(user_id=resident.id))
    assert "未通过" in notice.title
    assert notice.body == "证书照片看不清，请重新拍摄"
    with pytest.raises(OperationError) as refused:
        operations.certify_outcome(registrar, outcome)
    assert refused.value.status == 409


def test_a_pdf_certificate_is_accepted(resident):
    outcome = submit(resident, files=[(io.BytesIO(pdf_bytes()), "证书.pdf")])
    assert outcome.evidence[0].content_type == "application/pdf"
    assert outcome.evidence[0].filename == "证书.pdf"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hours": "0"}, "hours"),
        ({"hours": "-3"}, "hours"),
        ({"hours": "25"}, "hours"),
        ({"hours": "NaN"}, "hours"),
        ({"hours": "很多"}, "hours"),
        ({"hours": "1.25"}, "hours"),
        ({"occurred_on": "tomorrow"}, "occurred_on"),
        ({"occurred_on": None}, "occurred_on"),
        ({"title": "  "}, "title"),
        ({"issuer": ""}, "issuer"),
        ({"kind": OutcomeKind.ONLINE_COURSE}, "kind"),
        ({"evidence": []}, "evidence"),
        ({"evidence": [(io.BytesIO(b"MZ\x90\x00not an image"), "virus.exe")]}, "evidence"),
        ({"evidence": [(io.BytesIO(b"%PDF-1.4 broken"), "fake.pdf")]}, "evidence"),
        ({"evidence": [(io.BytesIO(b""), "empty.png")]}, "evidence"),
        ({"evidence": [(io.BytesIO(png_bytes()), f"{n}.png") for n in range(6)]}, "evidence"),
    ],
)
def test_bad_outcomes_are_refused_and_leave_nothing(resident, app, changes, field):
    values = {
        "kind": OutcomeKind.TRAINING,
        "title": "电商直播培训",
        "hours": "6",
        "occurred_on": yesterday(),
        "issuer": "泸县人社局",
        "evidence": [(io.BytesIO(png_bytes()), "a.png")],
    }
    values.update(changes)
    if values["occurred_on"] == "tomorrow":
        values["occurred_on"] = local_date(utcnow()) + timedelta(days=1)
    with pytest.raises(OperationError) as refused:
        operations.submit_outcome(resident, **values)
    db.session.rollback()
    assert 400 <= refused.value.status < 500
    assert field in refused.value.fields, refused.value.fields
    assert db.session.scalar(select(func.count(LearningOutcome.id))) == 0
    assert db.session.scalar(select(func.count(OutcomeEvidence.id))) == 0
    evidence_dir = app.config["LMS_MEDIA_DIR"] + "/evidence"
    import os

    assert not os.path.isdir(evidence_dir) or os.listdir(evidence_dir) == []


def test_more_than_24_hours_on_one_day_is_impossible(resident):
    submit(resident, hours="16")
    with pytest.raises(OperationError) as refused:
        submit(resident, hours="10")
    assert "24" in refused.value.message


def test_a_rollback_removes_the_stored_evidence(resident, app):
    import os

    operations.submit_outcome(
        resident,
        kind=OutcomeKind.TRAINING,
        title="培训",
        hours="2",
        occurred_on=yesterday(),
        issuer="单位",
        evidence=[(io.BytesIO(png_bytes()), "a.png")],
    )
    folder = os.path.join(app.config["LMS_MEDIA_DIR"], "evidence")
    assert len(os.listdir(folder)) == 1
    db.session.rollback()
    assert os.listdir(folder) == []


def test_account_balance_matches_the_ledger(resident, registrar, create_course):
    complete_course(resident, create_course(hours=16))
    operations.certify_outcome(registrar, submit(resident, hours="4"))
    db.session.commit()
    account = db.session.scalar(select(CreditAccount).filter_by(user_id=resident.id))
    assert account.balance == Decimal("1.3") == sum(e.amount for e in entries_of(resident))

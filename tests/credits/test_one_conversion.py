"""One conversion, shown and posted: for every demo course the course page, the catalogue, the
API, the rules' preview and the ledger give the same credits, from ``credits_for_course``."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from lms.accounts.models import User
from lms.core.time import local_date, utcnow
from lms.courses.models import Category, Course
from lms.credits import operations
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeKind, RuleMode
from lms.demo import DEMO_PASSWORD, load_demo
from lms.extensions import db
from tests.credits.conftest import complete_course


def signed_in(app, phone: str):
    client = app.test_client()
    response = client.post("/sign-in", data={"phone": phone, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def figure(pattern: str, html: str) -> Decimal:
    return Decimal(re.search(pattern, html, re.S).group(1))


def test_page_catalogue_api_preview_and_ledger_agree_for_every_demo_course(app):
    assert load_demo(echo=lambda line: None)
    registrar = db.session.scalar(select(User).filter_by(phone="13800000003"))
    # A rule of its own for one category, so the figure is the bank's, not 16 学时 = 1 学分.
    operations.save_rule(
        registrar,
        kind=OutcomeKind.ONLINE_COURSE,
        category=db.session.scalar(select(Category).filter_by(name="农村实用技术")),
        mode=RuleMode.PER_HOURS,
        hours_per_credit="12",
    )
    db.session.commit()
    learner = db.session.scalar(select(User).filter_by(phone="13700000009"))
    demo_courses = db.session.scalars(select(Course).order_by(Course.id)).all()
    assert len(demo_courses) == 12
    for course in demo_courses:
        assert course.certified_hours == course.hours  # the demo registrar certified them
        complete_course(learner, course)

    client = signed_in(app, "13800000003")
    catalogue = app.test_client().get("/courses?page=1").get_data(as_text=True)
    catalogue += app.test_client().get("/courses?page=2").get_data(as_text=True)
    checked = set()
    for course in demo_courses:
        expected = operations.credits_for_course(course)
        assert expected is not None
        page = app.test_client().get(f"/courses/{course.id}").get_data(as_text=True)
        assert figure(r'<dd class="course__credits">([\d.]+)</dd>', page) == expected
        card = re.search(rf'href="/courses/{course.id}">.*?</article>', catalogue, re.S).group(0)
        assert figure(r"([\d.]+) 学分", card) == expected
        api = app.test_client().get(f"/api/v1/courses/{course.id}").get_json()
        assert Decimal(str(api["credits"])) == expected
        preview = client.get(
            "/credits/rules",
            query_string={
                "preview-kind": "online_course",
                "preview-hours": str(course.certified_hours),
                "preview-category_id": course.category_id,
                "preview-occurred_on": local_date(utcnow()).isoformat(),
            },
        ).get_data(as_text=True)
        assert figure(r'result-box__figure">可得 ([\d.]+) 学分', preview) == expected
        [entry] = db.session.scalars(
            select(LedgerEntry)
            .join(LearningOutcome, LedgerEntry.outcome_id == LearningOutcome.id)
            .where(LearningOutcome.user_id == learner.id, LearningOutcome.course_id == course.id)
        )
        assert entry.amount == expected
        checked.add(course.title)
    assert len(checked) == 12
    # The two cases that used to disagree: 20 学时 (1.25 → 1.3, not 1.2) and the category rule.
    by_title = {course.title: course for course in demo_courses}
    assert operations.credits_for_course(by_title["泸州油纸伞制作技艺"]) == Decimal("1.3")
    assert operations.credits_for_course(by_title["柑橘种植与病虫害防治"]) == Decimal("1.2")


def test_demo_completions_carry_credits(app):
    load_demo(echo=lambda line: None)
    wang = db.session.scalar(select(User).filter_by(phone="13700000001"))
    account = operations.account_for(wang)
    entries = db.session.scalars(select(LedgerEntry).filter_by(account_id=account.id)).all()
    courses = [entry for entry in entries if entry.outcome.kind is OutcomeKind.ONLINE_COURSE]
    assert sorted(entry.amount for entry in courses) == [Decimal("0.5"), Decimal("1.0")]
    # The demo's past activities she came to are credited too (issue 15), each once.
    activities = [entry for entry in entries if entry.outcome.kind is OutcomeKind.ACTIVITY]
    assert activities
    assert len({entry.outcome.attendance_id for entry in activities}) == len(activities)

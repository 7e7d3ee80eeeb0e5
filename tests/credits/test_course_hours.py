"""课程学时认定: a course's declared 学时 earn credits only once a registrar of its provider's unit
(or above) has certified them against what it contains; completions before that are credited
once when it happens; the rules hold for the page, the API and the operation alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.accounts import operations as accounts
from lms.accounts.models import AuditEntry, Role
from lms.core.errors import Conflict, Forbidden, OperationError
from lms.courses import operations as courses
from lms.courses.models import Course, LessonKind
from lms.credits import operations
from lms.credits.models import LearningOutcome, LedgerEntry
from lms.extensions import db
from lms.learning import operations as learning
from lms.records.learning_file import ItemKind, build
from tests.conftest import PASSWORD, api_token, new_phone, sign_in, unit
from tests.credits.conftest import HOURS_REASON, certify_hours, complete_course


def ledger_of(user) -> list[LedgerEntry]:
    db.session.expire_all()
    account = operations.account_for(user)
    if account is None:
        return []
    return list(db.session.scalars(select(LedgerEntry).filter_by(account_id=account.id)))


def certify_api(app, user, course, **body):
    return app.test_client().post(
        f"/api/v1/courses/{course.id}/hours/certify",
        json=body,
        headers=api_token(app.test_client(), user),
    )


def video_course(teacher, categories, *, minutes: int, hours=2) -> Course:
    """A published course of one video lesson of *minutes* (the length media would probe)."""
    course = courses.create_course(
        teacher,
        title="电工基础",
        summary="<p>简介</p>",
        category=categories["农村实用技术"],
        hours=hours,
    )
    courses.add_lesson(course, title="第一课", kind=LessonKind.VIDEO, duration_s=minutes * 60)
    courses.publish_course(course)
    db.session.commit()
    return course


# Completions wait for certified hours, then are credited once -----------------------------------


def test_completions_earn_nothing_until_the_hours_are_certified_then_once_each(
    app, create_user, create_course, registrar
):
    course = create_course(hours=16, certified=False)
    early = [create_user(name=f"早学员{n}") for n in range(2)]
    for resident in early:
        complete_course(resident, course)
    # Completed and in the learning file, but no outcome and no credit yet.
    assert db.session.scalar(select(func.count(LearningOutcome.id))) == 0
    assert all(ledger_of(resident) == [] for resident in early)
    [item] = build(early[0], kind=ItemKind.COURSE).items
    assert item.hours is None
    assert "学时待认定" in item.detail

    entries = operations.certify_course_hours(registrar, course, hours="16", reason=HOURS_REASON)
    db.session.commit()
    assert len(entries) == 2
    for resident in early:
        [entry] = ledger_of(resident)
        outcome = entry.outcome
        assert entry.amount == Decimal("1.0")
        assert entry.idempotency_key == f"outcome:{outcome.id}"
        assert outcome.hours == Decimal("16.0")
    # Certifying again is refused, and recording the completions again posts nothing more.
    with pytest.raises(Conflict, match="已经认定过了"):
        operations.certify_course_hours(registrar, course, hours="16", reason=HOURS_REASON)
    db.session.rollback()
    for enrolment in (
        learning.find_enrolment(early[0], course),
        learning.find_enrolment(early[1], course),
    ):
        operations.record_course_completion(enrolment)
    db.session.commit()
    assert [len(ledger_of(resident)) for resident in early] == [1, 1]
    # A later completion is credited at once, on the certified hours.
    late = create_user(name="晚学员")
    complete_course(late, course)
    assert [entry.amount for entry in ledger_of(late)] == [Decimal("1.0")]
    [item] = build(late, kind=ItemKind.COURSE).items
    assert item.hours == Decimal("16.0")


def test_credits_are_earned_on_the_certified_hours_not_the_claim(
    resident, create_course, registrar
):
    course = create_course(hours=32, certified=False)
    certify_hours(course, registrar, hours="8")
    complete_course(resident, course)
    [entry] = ledger_of(resident)
    assert entry.amount == Decimal("0.5")
    assert entry.outcome.hours == Decimal("8.0")


def test_pending_hours_show_on_the_course_page_card_and_api(
    client, create_course, registrar, resident
):
    course = create_course("待认定的课", hours=20, certified=False)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "学时待认定" in page
    assert "学时待认定" in client.get("/courses").get_data(as_text=True)
    body = client.get(f"/api/v1/courses/{course.id}").get_json()
    assert body["hours"] == 20.0
    assert body["certified_hours"] is None
    assert body["hours_status"] == "pending"
    assert body["credits"] is None

    certify_hours(course, registrar, hours="20")
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "学时待认定" not in page
    assert '<dd class="course__credits">1.3</dd>' in page  # 20 / 16 = 1.25, half up
    assert "1.3 学分" in client.get("/courses").get_data(as_text=True)
    body = client.get(f"/api/v1/courses/{course.id}").get_json()
    assert body["certified_hours"] == 20.0
    assert body["hours_status"] == "certified"
    assert body["credits"] == 1.3


# Measured content, the margin, the reason and the audit trail -----------------------------------


def test_hours_within_the_margin_of_the_content_need_no_reason(app, teacher, categories, registrar):
    course = video_course(teacher, categories, minutes=60)
    measured = operations.measure_course(course)
    assert (measured.video_s, measured.hours) == (3600, Decimal("1.0"))
    with pytest.raises(OperationError) as refused:
        operations.certify_course_hours(registrar, course, hours="1.3")
    db.session.rollback()
    assert refused.value.status == 422
    assert "reason" in refused.value.fields
    operations.certify_course_hours(registrar, course, hours="1.2")  # 1.0 × (1 + 0.2)
    db.session.commit()
    assert course.certified_hours == Decimal("1.2")
    assert course.hours_certification_reason is None


def test_the_margin_is_configurable(app, teacher, categories, registrar):
    app.config["LMS_HOURS_MARGIN"] = 0.5
    course = video_course(teacher, categories, minutes=60)
    operations.certify_course_hours(registrar, course, hours="1.5")
    db.session.commit()
    assert course.certified_hours == Decimal("1.5")


def test_more_than_measured_needs_a_reason_that_is_kept_and_audited(app, create_course, registrar):
    course = create_course(hours=16, lessons=2, certified=False)  # two short text lessons
    response = certify_api(app, registrar, course, hours=16)
    assert response.status_code == 422, response.get_json()
    assert "reason" in response.get_json()["error"]["fields"]
    assert course.certified_hours is None

    response = certify_api(app, registrar, course, hours=16, reason="  配套线下面授 12 学时 ")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["certified_hours"] == 16.0
    assert body["hours_status"] == "certified"
    assert body["hours_certified_by"] == {"id": registrar.id, "name": registrar.name}
    assert body["hours_certification_reason"] == "配套线下面授 12 学时"
    assert body["credits"] == 1.0
    assert body["measured"]["video_s"] == 0
    assert body["measured"]["reading_s"] > 0
    db.session.expire_all()
    course = db.session.get(Course, course.id)
    assert course.hours_certified_by_id == registrar.id
    assert course.hours_certified_at is not None
    assert course.hours_certification_reason == "配套线下面授 12 学时"
    [audit] = db.session.scalars(select(AuditEntry).filter_by(action="course_hours_certified"))
    assert (audit.actor_id, audit.object_type, audit.object_id) == (
        registrar.id,
        "course",
        course.id,
    )
    assert audit.detail["hours"] == "16.0"
    assert audit.detail["declared_hours"] == "16.0"
    assert audit.detail["reason"] == "配套线下面授 12 学时"
    assert "measured_hours" in audit.detail
    assert audit.detail["measured"]["reading_s"] == body["measured"]["reading_s"]
    assert audit.address == "127.0.0.1"


def test_certifying_twice_is_409_in_chinese(app, create_course, registrar):
    course = create_course(certified=False)
    assert certify_api(app, registrar, course, hours=16, reason=HOURS_REASON).status_code == 200
    response = certify_api(app, registrar, course, hours=16, reason=HOURS_REASON)
    assert response.status_code == 409
    assert "已经认定过了" in response.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


@pytest.mark.parametrize("hours", [-1, 0, "0.0", 1000, "999.95", 1.25, "12.34", "abc", None])
def test_negative_zero_or_absurd_hours_are_422(app, create_course, registrar, hours):
    course = create_course(certified=False)
    response = certify_api(app, registrar, course, hours=hours, reason=HOURS_REASON)
    assert response.status_code == 422, response.get_json()
    db.session.expire_all()
    assert db.session.get(Course, course.id).certified_hours is None


def test_the_largest_hours_with_one_decimal_are_accepted(app, create_course, registrar):
    course = create_course(certified=False)
    assert (
        certify_api(app, registrar, course, hours="999.9", reason=HOURS_REASON).status_code == 200
    )


# Who may certify -------------------------------------------------------------------------------


@pytest.fixture
def people(create_user, teacher, registrar, town_registrar) -> dict:
    """Everyone who might try: the course's teacher, a resident, registrars of its town, of
    another town and of the county, and an administrator of its town."""
    return {
        "resident": create_user(name="居民"),
        "teacher": teacher,
        "town registrar": town_registrar,
        "other town registrar": create_user(Role.REGISTRAR, "嘉明镇", name="嘉明专员"),
        "county registrar": registrar,
        "admin": create_user(Role.ADMIN, "福集镇", name="福集站长"),
    }


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("resident", 403),
        ("teacher", 403),
        ("admin", 403),
        ("other town registrar", 403),
        ("town registrar", 200),
        ("county registrar", 200),
    ],
)
def test_registrars_of_the_provider_unit_or_above_certify(app, people, create_course, who, status):
    course = create_course(certified=False)  # provided by 福集镇, where the teacher teaches
    response = certify_api(app, people[who], course, hours=16, reason=HOURS_REASON)
    assert response.status_code == status, response.get_json()
    if status == 403:
        assert response.get_json()["error"]["message"]


def test_a_draft_outside_the_scope_is_404(app, people, create_course):
    draft = create_course(certified=False, publish=False)
    for who in ("resident", "other town registrar", "admin"):
        response = certify_api(app, people[who], draft, hours=16, reason=HOURS_REASON)
        expected = 403 if who == "admin" else 404  # the admin of its unit may see the draft
        assert response.status_code == expected, who
    assert certify_api(app, people["resident"], draft, hours=1).status_code == 404
    response = app.test_client().post(
        "/api/v1/courses/999999/hours/certify",
        json={"hours": 1},
        headers=api_token(app.test_client(), people["county registrar"]),
    )
    assert response.status_code == 404


def _teaching_registrar(categories):
    """A 福集镇 teacher who is also a registrar of 福集镇, and a course they opened."""
    person = accounts.create_user(
        phone=new_phone(),
        name="兼任专员",
        password=PASSWORD,
        org_unit=unit("福集镇"),
        roles=(Role.RESIDENT, Role.TEACHER, Role.REGISTRAR),
    )
    course = courses.create_course(
        person, title="自己开的课", summary="", category=categories["健康养生"], hours=2
    )
    courses.add_text_lesson(course, title="第一课", body="<p>内容</p>")
    courses.publish_course(course)
    db.session.commit()
    return person, course


def test_nobody_certifies_hours_of_a_course_they_created_or_teach(
    app, county, categories, create_course, registrar
):
    person, own = _teaching_registrar(categories)
    with pytest.raises(Forbidden, match="不能认定它的学时"):
        operations.certify_course_hours(person, own, hours="2", reason=HOURS_REASON)
    db.session.rollback()
    response = certify_api(app, person, own, hours=2, reason=HOURS_REASON)
    assert response.status_code == 403
    assert "授课教师" in response.get_json()["error"]["message"]
    # A co-teacher of someone else's course is refused too.
    course = create_course(certified=False)
    course.teachers.append(registrar)
    db.session.commit()
    response = certify_api(app, registrar, course, hours=16, reason=HOURS_REASON)
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Course, course.id).certified_hours is None
    assert db.session.get(Course, own.id).certified_hours is None


# The registrars' page --------------------------------------------------------------------------


def test_registrar_page_lists_courses_awaiting_with_claim_and_measure_and_certifies(
    client, create_course, town_registrar, resident
):
    course = create_course("待认定的课", hours=16, certified=False)
    done = create_course("已认定的课", hours=8)
    sign_in(client, town_registrar)
    page = client.get("/credits/course-hours").get_data(as_text=True)
    assert "待认定的课" in page
    for figure in ("申报学时", "视频时长", "阅读时间", "实测学时"):
        assert figure in page
    assert "课程学时认定" in client.get("/credits/review").get_data(as_text=True)  # in the nav
    assert done.title in page  # under 最近认定

    prefix = f"course-{course.id}"
    response = client.post(
        f"/credits/course-hours/{course.id}/certify", data={f"{prefix}-hours": "16"}
    )
    assert response.status_code == 422
    assert "请写明理由" in response.get_data(as_text=True)
    response = client.post(
        f"/credits/course-hours/{course.id}/certify",
        data={f"{prefix}-hours": "16", f"{prefix}-reason": HOURS_REASON},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Course, course.id).certified_hours == Decimal("16.0")
    response = client.post(
        f"/credits/course-hours/{course.id}/certify",
        data={f"{prefix}-hours": "16", f"{prefix}-reason": HOURS_REASON},
        follow_redirects=True,
    )
    assert "已经认定过了" in response.get_data(as_text=True)


def test_the_page_is_for_registrars_and_says_when_they_teach_the_course(
    client, county, categories, resident
):
    sign_in(client, resident)
    assert client.get("/credits/course-hours").status_code == 403
    person, own = _teaching_registrar(categories)
    client = client.application.test_client()
    sign_in(client, person)
    page = client.get("/credits/course-hours").get_data(as_text=True)
    assert own.title in page
    assert "请由其他专员认定它的学时" in page


def test_the_certification_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/courses/{course_id}/hours/certify"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CertifyHoursIn"
    )
    summary = document["components"]["schemas"]["CourseSummary"]["properties"]
    assert {"certified_hours", "hours_status", "credits"} <= set(summary)

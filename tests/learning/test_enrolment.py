"""Residents enrol in courses and withdraw (web and API), 我的课程, and who may study a lesson."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Role
from lms.courses.models import Course
from lms.extensions import db
from lms.learning.models import Enrolment
from tests.conftest import PASSWORD, api_token, csrf_token, sign_in


@pytest.fixture
def course(create_course) -> Course:
    return create_course("生猪科学养殖技术", lessons=2)


@pytest.fixture
def learner(app, resident):
    """The resident, signed in on the web."""
    client = app.test_client()
    sign_in(client, resident)
    return client


def token(app, user) -> dict[str, str]:
    return api_token(app.test_client(), user)


def page(response) -> str:
    return response.get_data(as_text=True)


def enrolments(user, course) -> list[Enrolment]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Enrolment).filter_by(user_id=user.id, course_id=course.id))
    )


def enrolment_count(course: Course) -> int:
    db.session.expire_all()
    return db.session.get(Course, course.id).enrolment_count


def assert_api_error(response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    if code:
        assert error["code"] == code
    return error["message"]


# Enrolling on the web ----------------------------------------------------------------------------


def test_resident_enrols_and_finds_the_course_in_my_courses(learner, resident, course):
    assert "您还没有报名任何课程" in page(learner.get("/me/courses"))

    response = learner.post(f"/courses/{course.id}/enrol")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/courses/{course.id}"
    course_page = page(learner.get(response.headers["Location"]))
    assert "报名成功，开始学习吧！" in course_page
    assert "已报名" in course_page
    mine = page(learner.get("/me/courses"))
    assert "生猪科学养殖技术" in mine
    assert "您正在学习 1 门课程" in mine
    [enrolment] = enrolments(resident, course)
    assert enrolment.active
    assert enrolment.enrolled_at.tzinfo is not None
    assert enrolment_count(course) == 1


def test_enrolling_twice_keeps_one_row(learner, resident, course):
    learner.post(f"/courses/{course.id}/enrol")
    response = learner.post(f"/courses/{course.id}/enrol")

    assert response.status_code == 302
    assert "您已报名这门课程" in page(learner.get(response.headers["Location"]))
    assert len(enrolments(resident, course)) == 1
    assert enrolment_count(course) == 1


def test_withdrawing_on_the_web_keeps_the_record(learner, resident, course):
    learner.post(f"/courses/{course.id}/enrol")

    response = learner.post(f"/courses/{course.id}/withdraw")

    assert response.status_code == 302
    assert "已退出这门课程，学习记录仍会保留" in page(learner.get(response.headers["Location"]))
    [enrolment] = enrolments(resident, course)
    assert enrolment.withdrawn_at is not None
    assert not enrolment.active
    assert "生猪科学养殖技术" not in page(learner.get("/me/courses"))
    assert enrolment_count(course) == 0


def test_withdrawing_without_enrolling(learner, resident, course):
    response = learner.post(f"/courses/{course.id}/withdraw")
    assert response.status_code == 302
    assert "您没有报名这门课程" in page(learner.get(response.headers["Location"]))
    assert enrolments(resident, course) == []
    assert enrolment_count(course) == 0


def test_enrolling_again_reactivates_the_same_row(learner, resident, course):
    learner.post(f"/courses/{course.id}/enrol")
    [first] = enrolments(resident, course)
    learner.post(f"/courses/{course.id}/withdraw")

    response = learner.post(f"/courses/{course.id}/enrol")

    assert "报名成功" in page(learner.get(response.headers["Location"]))
    [again] = enrolments(resident, course)
    assert again.id == first.id
    assert again.withdrawn_at is None
    assert "生猪科学养殖技术" in page(learner.get("/me/courses"))
    assert enrolment_count(course) == 1


def test_enrolment_count_follows_residents(app, create_user, course):
    clients = []
    for number in range(3):
        client = app.test_client()
        sign_in(client, create_user(name=f"居民{number}"))
        client.post(f"/courses/{course.id}/enrol")
        clients.append(client)
    assert enrolment_count(course) == 3
    clients[0].post(f"/courses/{course.id}/withdraw")
    clients[0].post(f"/courses/{course.id}/withdraw")  # a second withdrawal counts nothing
    assert enrolment_count(course) == 2
    clients[0].post(f"/courses/{course.id}/enrol")
    clients[1].post(f"/courses/{course.id}/enrol")  # already enrolled
    assert enrolment_count(course) == 3
    assert "3" in page(app.test_client().get(f"/courses/{course.id}"))


def test_a_draft_cannot_be_enrolled_in(learner, resident, create_course):
    draft = create_course("草稿课", publish=False)
    assert learner.post(f"/courses/{draft.id}/enrol").status_code == 404
    assert enrolments(resident, draft) == []


def test_an_archived_course_cannot_be_enrolled_in(app, learner, resident, teacher, course):
    teacher_client = app.test_client()
    sign_in(teacher_client, teacher)
    teacher_client.post(f"/courses/{course.id}/archive")

    response = learner.post(f"/courses/{course.id}/enrol")
    assert response.status_code == 302
    assert "暂不能报名" in page(learner.get(response.headers["Location"]))
    assert enrolments(resident, course) == []

    response = app.test_client().put(
        f"/api/v1/courses/{course.id}/enrolment", headers=token(app, resident)
    )
    assert "暂不能报名" in assert_api_error(response, 409, "conflict")
    assert enrolments(resident, course) == []
    assert enrolment_count(course) == 0


def test_enrolled_residents_keep_an_archived_course(app, learner, resident, teacher, course):
    learner.post(f"/courses/{course.id}/enrol")
    teacher_client = app.test_client()
    sign_in(teacher_client, teacher)
    teacher_client.post(f"/courses/{course.id}/archive")

    mine = page(learner.get("/me/courses"))
    assert "生猪科学养殖技术" in mine
    assert "已归档" in mine
    assert learner.get(f"/lessons/{course.lessons[0].id}").status_code == 200


def test_my_courses_has_no_dead_links_after_a_course_is_unpublished(
    app, learner, resident, course, create_user
):
    learner.post(f"/courses/{course.id}/enrol")
    admin = app.test_client()
    sign_in(admin, create_user(Role.ADMIN, "福集镇", name="赵站长"))
    admin.post(f"/courses/{course.id}/unpublish")

    mine = page(learner.get("/me/courses"))
    if "生猪科学养殖技术" in mine:
        assert learner.get(f"/courses/{course.id}").status_code == 200
        assert learner.get(f"/lessons/{course.lessons[0].id}").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client, course):
    response = client.post(f"/courses/{course.id}/enrol")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")
    assert client.get("/me/courses").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_unknown_courses_are_404(learner):
    assert learner.post("/courses/999999/enrol").status_code == 404
    assert learner.post("/courses/999999/withdraw").status_code == 404


# Enrolling through the API -----------------------------------------------------------------------


def test_api_enrolment_is_201_then_200(app, resident, course):
    headers = token(app, resident)
    api = app.test_client()

    first = api.put(f"/api/v1/courses/{course.id}/enrolment", headers=headers)
    assert first.status_code == 201
    body = first.get_json()
    assert body["course_id"] == course.id
    assert datetime.fromisoformat(body["enrolled_at"]).utcoffset() is not None
    assert body["completed_at"] is None

    second = api.put(f"/api/v1/courses/{course.id}/enrolment", headers=headers)
    assert second.status_code == 200
    assert second.get_json()["enrolled_at"] == body["enrolled_at"]
    assert len(enrolments(resident, course)) == 1
    assert enrolment_count(course) == 1


def test_api_withdrawal_is_204_then_404(app, resident, course):
    headers = token(app, resident)
    api = app.test_client()
    api.put(f"/api/v1/courses/{course.id}/enrolment", headers=headers)

    response = api.delete(f"/api/v1/courses/{course.id}/enrolment", headers=headers)
    assert response.status_code == 204
    assert response.get_data() == b""
    [enrolment] = enrolments(resident, course)
    assert enrolment.withdrawn_at is not None
    assert enrolment_count(course) == 0

    again = api.delete(f"/api/v1/courses/{course.id}/enrolment", headers=headers)
    assert "您没有报名这门课程" in assert_api_error(again, 404, "not_found")
    assert enrolment_count(course) == 0


def test_api_enrolment_after_withdrawal_is_new_again(app, resident, course):
    headers = token(app, resident)
    api = app.test_client()
    api.put(f"/api/v1/courses/{course.id}/enrolment", headers=headers)
    api.delete(f"/api/v1/courses/{course.id}/enrolment", headers=headers)
    assert api.put(f"/api/v1/courses/{course.id}/enrolment", headers=headers).status_code == 201
    assert len(enrolments(resident, course)) == 1
    assert enrolment_count(course) == 1


def test_api_enrolment_in_a_draft_or_unknown_course_is_404(app, resident, create_course):
    draft = create_course("草稿课", publish=False)
    headers = token(app, resident)
    for course_id in (draft.id, 999999):
        response = app.test_client().put(f"/api/v1/courses/{course_id}/enrolment", headers=headers)
        assert_api_error(response, 404, "not_found")
        response = app.test_client().delete(
            f"/api/v1/courses/{course_id}/enrolment", headers=headers
        )
        assert_api_error(response, 404, "not_found")
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_api_enrolment_needs_sign_in(client, course):
    assert_api_error(client.put(f"/api/v1/courses/{course.id}/enrolment"), 401, "unauthorized")
    assert_api_error(client.delete(f"/api/v1/courses/{course.id}/enrolment"), 401, "unauthorized")


def test_web_and_api_share_one_enrolment(app, learner, resident, course):
    learner.post(f"/courses/{course.id}/enrol")
    response = app.test_client().put(
        f"/api/v1/courses/{course.id}/enrolment", headers=token(app, resident)
    )
    assert response.status_code == 200
    app.test_client().delete(f"/api/v1/courses/{course.id}/enrolment", headers=token(app, resident))
    assert "生猪科学养殖技术" not in page(learner.get("/me/courses"))


def test_catalogue_shows_enrolled_only_to_the_enrolled(
    app, create_user, resident, course, create_course
):
    other_course = create_course("农村法律常识", category="法制教育")
    app.test_client().put(f"/api/v1/courses/{course.id}/enrolment", headers=token(app, resident))

    def enrolled_flags(headers=None):
        body = app.test_client().get("/api/v1/courses", headers=headers or {}).get_json()
        return {item["title"]: item["enrolled"] for item in body["items"]}

    assert enrolled_flags(token(app, resident)) == {"生猪科学养殖技术": True, "农村法律常识": False}
    neighbour = create_user(name="邻居")
    assert enrolled_flags(token(app, neighbour)) == {
        "生猪科学养殖技术": False,
        "农村法律常识": False,
    }
    assert enrolled_flags() == {"生猪科学养殖技术": False, "农村法律常识": False}

    detail = app.test_client().get(f"/api/v1/courses/{course.id}", headers=token(app, resident))
    assert detail.get_json()["enrolled"] is True
    assert (
        app.test_client().get(f"/api/v1/courses/{other_course.id}").get_json()["enrolled"] is False
    )

    app.test_client().delete(f"/api/v1/courses/{course.id}/enrolment", headers=token(app, resident))
    assert enrolled_flags(token(app, resident))["生猪科学养殖技术"] is False


# Cookie-authenticated API writes ------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_cookie_api_writes_need_the_csrf_token(app, resident, course):
    client = app.test_client()
    response = client.post(
        "/sign-in",
        data={"phone": resident.phone, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302

    refused = client.put(f"/api/v1/courses/{course.id}/enrolment")
    assert_api_error(refused, 400, "csrf_failed")
    assert enrolments(resident, course) == []

    accepted = client.put(
        f"/api/v1/courses/{course.id}/enrolment",
        headers={"X-CSRFToken": csrf_token(client, f"/courses/{course.id}")},
    )
    assert accepted.status_code == 201


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_junk_bearer_header_does_not_bypass_csrf(app, resident, course):
    client = app.test_client()
    client.post(
        "/sign-in",
        data={"phone": resident.phone, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    response = client.put(
        f"/api/v1/courses/{course.id}/enrolment", headers={"Authorization": "Bearer junk"}
    )
    assert response.status_code in (400, 401)
    assert enrolments(resident, course) == []


# Studying a lesson -------------------------------------------------------------------------------


def test_a_lesson_sends_a_resident_who_has_not_enrolled_to_the_course(learner, course):
    lesson = course.lessons[0]
    response = learner.get(f"/lessons/{lesson.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/courses/{course.id}"
    assert "请先报名这门课程再开始学习" in page(learner.get(response.headers["Location"]))


def test_an_enrolled_resident_reads_the_lesson(learner, course):
    learner.post(f"/courses/{course.id}/enrol")
    response = learner.get(f"/lessons/{course.lessons[0].id}")
    assert response.status_code == 200
    html = page(response)
    assert "第1课" in html
    assert "<p>内容1</p>" in html
    assert "生猪科学养殖技术" in html


def test_a_withdrawn_resident_is_sent_back_to_the_course(learner, course):
    learner.post(f"/courses/{course.id}/enrol")
    learner.post(f"/courses/{course.id}/withdraw")
    assert learner.get(f"/lessons/{course.lessons[0].id}").status_code == 302


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client, resident, course):
    lesson = course.lessons[1]
    response = client.get(f"/lessons/{lesson.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    after = client.post(
        response.headers["Location"], data={"phone": resident.phone, "password": PASSWORD}
    )
    assert after.headers["Location"] == f"/lessons/{lesson.id}"


def test_an_open_course_can_be_read_without_signing_in(client, course):
    course.is_open = True
    db.session.commit()
    response = client.get(f"/lessons/{course.lessons[0].id}")
    assert response.status_code == 200
    assert "<p>内容1</p>" in page(response)


def test_a_draft_lesson_is_404_for_residents_but_previewed_by_its_teacher(
    app, learner, teacher, create_course
):
    draft = create_course("草稿课", publish=False)
    lesson = draft.lessons[0]
    assert learner.get(f"/lessons/{lesson.id}").status_code == 404
    assert app.test_client().get(f"/lessons/{lesson.id}").status_code == 404
    teacher_client = app.test_client()
    sign_in(teacher_client, teacher)
    response = teacher_client.get(f"/lessons/{lesson.id}")
    assert response.status_code == 200
    assert "<p>内容1</p>" in page(response)


def test_an_unknown_lesson_is_404(learner):
    assert learner.get("/lessons/999999").status_code == 404

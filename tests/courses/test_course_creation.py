"""Teachers create courses on the web and through the API: what is kept, what is refused, and who
may create at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.courses.models import Course, CourseStatus
from lms.extensions import db
from tests.conftest import unit
from tests.courses.conftest import (
    assert_api_error,
    course_body,
    course_count,
    course_form,
    page,
    signed_in,
    token,
)

# Creating courses --------------------------------------------------------------------------------


def test_teacher_creates_a_draft_course_on_the_web(app, teacher, categories):
    client = signed_in(app, teacher)
    assert client.get("/courses/new").status_code == 200

    response = client.post("/courses/new", data=course_form(categories))

    assert response.status_code == 302
    course = db.session.scalar(select(Course))
    assert response.headers["Location"] == f"/courses/{course.id}/edit"
    assert course.title == "柑橘病虫害防治"
    assert course.status is CourseStatus.DRAFT
    assert course.category.name == "农村实用技术"
    assert course.hours == Decimal("8.0")
    assert course.provider.name == "福集镇"
    assert [t.name for t in course.teachers] == ["李老师"]
    assert course.cover is None
    html = page(client.get(response.headers["Location"]))
    assert "课程已创建，请添加课时" in html
    assert "草稿" in html


def test_teacher_creates_a_course_through_the_api(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(hours="2.5"), headers=token(app, teacher)
    )

    assert response.status_code == 201
    created = response.get_json()
    assert created["title"] == "柑橘病虫害防治"
    assert created["status"] == "draft"
    assert created["category"] == "农村实用技术"
    assert created["hours"] == 2.5
    # Declared 学时 are a claim: no credits until a registrar certifies them.
    assert created["certified_hours"] is None
    assert created["hours_status"] == "pending"
    assert created["credits"] is None
    assert created["provider"] == {"id": unit("福集镇").id, "name": "福集镇"}
    assert created["teachers"] == [{"id": teacher.id, "name": "李老师"}]
    assert created["lessons"] == []
    assert created["lesson_count"] == 0
    assert created["enrolled"] is False
    assert db.session.get(Course, created["id"]).status is CourseStatus.DRAFT


@pytest.mark.parametrize("is_open", [True, False])
def test_an_open_course_is_made_open_on_the_web_and_through_the_api(
    app, teacher, categories, is_open
):
    web = signed_in(app, teacher)
    form = course_form(categories, title="网页公开课", is_open="y" if is_open else None)
    assert web.post("/courses/new", data=form).status_code == 302
    response = app.test_client().post(
        "/api/v1/courses",
        json=course_body(title="接口公开课", is_open=is_open),
        headers=token(app, teacher),
    )
    assert response.status_code == 201
    made = db.session.scalars(select(Course).order_by(Course.id)).all()
    assert [(course.title, course.is_open) for course in made] == [
        ("网页公开课", is_open),
        ("接口公开课", is_open),
    ]


def test_an_api_course_is_not_open_unless_asked(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(), headers=token(app, teacher)
    )
    assert db.session.get(Course, response.get_json()["id"]).is_open is False


def test_api_category_may_be_given_by_id(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses",
        json=course_body(category=categories["健康养生"].id),
        headers=token(app, teacher),
    )
    assert response.status_code == 201
    assert response.get_json()["category"] == "健康养生"


def test_scripts_are_removed_from_the_summary(app, teacher, categories):
    summary = '<p>好课</p><script>alert("x")</script><p onclick="steal()">点我</p>'
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(summary=summary), headers=token(app, teacher)
    )
    stored = db.session.get(Course, response.get_json()["id"]).summary
    assert "<script" not in stored
    assert "alert" not in stored
    assert "onclick" not in stored
    assert "<p>好课</p>" in stored
    assert "点我" in stored

    client = signed_in(app, teacher)
    client.post("/courses/new", data=course_form(categories, summary=summary))
    web = db.session.scalar(select(Course).order_by(Course.id.desc()))
    assert "<script" not in web.summary
    assert "<p>好课</p>" in web.summary


def test_tags_are_removed_from_the_title(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses",
        json=course_body(title="<b>养蜂</b><script>alert(1)</script>技术"),
        headers=token(app, teacher),
    )
    assert response.get_json()["title"] == "养蜂技术"


def test_an_ampersand_in_a_title_is_kept_as_typed(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(title="家庭&学校共育"), headers=token(app, teacher)
    )
    assert response.get_json()["title"] == "家庭&学校共育"


@pytest.mark.parametrize(
    "category", ["没有的分类", 999999, "999999", 0, -1, "99999999999999999999999"]
)
def test_unknown_category_is_refused(app, teacher, categories, category):
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(category=category), headers=token(app, teacher)
    )
    error = assert_api_error(response, 422, "validation_error")
    assert "category" in error["fields"]
    assert course_count() == 0


def test_unknown_category_is_refused_on_the_web(app, teacher, categories):
    client = signed_in(app, teacher)
    response = client.post("/courses/new", data=course_form(categories, category_id="999999"))
    assert response.status_code == 422
    assert course_count() == 0


@pytest.mark.parametrize(
    "hours", [0, -1, "-0.5", "0.04", "NaN", "Infinity", "1e400", 100000, "1e999999", "八", True]
)
def test_nonsense_hours_are_refused_by_the_api(app, teacher, categories, hours):
    body = course_body(hours=hours)
    response = app.test_client().post("/api/v1/courses", json=body, headers=token(app, teacher))
    error = assert_api_error(response, 422, "validation_error")
    assert "hours" in error["fields"]
    assert course_count() == 0


def test_a_json_nan_is_refused(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses",
        data='{"title": "x课", "category": "健康养生", "hours": NaN}',
        content_type="application/json",
        headers=token(app, teacher),
    )
    assert response.status_code in (400, 422)
    assert course_count() == 0


@pytest.mark.parametrize("hours", ["0", "-1", "NaN", "sNaN", "Infinity", "1000", "abc", ""])
def test_nonsense_hours_are_refused_on_the_web(app, teacher, categories, hours):
    client = signed_in(app, teacher)
    response = client.post("/courses/new", data=course_form(categories, hours=hours))
    assert response.status_code == 422
    assert "学时" in page(response)
    assert course_count() == 0


def test_hours_are_kept_to_one_decimal(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(hours="999.9"), headers=token(app, teacher)
    )
    assert response.get_json()["hours"] == 999.9


@pytest.mark.parametrize("field", ["title", "category", "hours"])
def test_missing_fields_are_refused_by_the_api(app, teacher, categories, field):
    body = course_body()
    del body[field]
    response = app.test_client().post("/api/v1/courses", json=body, headers=token(app, teacher))
    error = assert_api_error(response, 422, "validation_error")
    assert error["fields"][field] == ["此项必填"]


def test_blank_title_is_refused(app, teacher, categories):
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(title="   "), headers=token(app, teacher)
    )
    assert "title" in assert_api_error(response, 422)["fields"]
    client = signed_in(app, teacher)
    assert client.post("/courses/new", data=course_form(categories, title="")).status_code == 422
    assert course_count() == 0


def test_a_resident_cannot_create_courses(app, resident, categories):
    client = signed_in(app, resident)
    assert client.get("/courses/new").status_code == 403
    response = client.post("/courses/new", data=course_form(categories))
    assert response.status_code == 403
    assert "没有权限" in page(response)

    response = app.test_client().post(
        "/api/v1/courses", json=course_body(), headers=token(app, resident)
    )
    assert "只有教师可以开设课程" in assert_api_error(response, 403, "forbidden")["message"]
    assert course_count() == 0


def test_an_anonymous_visitor_cannot_create_courses(client, categories):
    response = client.get("/courses/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")
    assert_api_error(client.post("/api/v1/courses", json=course_body()), 401, "unauthorized")
    assert course_count() == 0

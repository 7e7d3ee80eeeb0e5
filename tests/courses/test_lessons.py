"""Lessons of a course: their order, moving and deleting them, and adding text lessons (web and
API)."""

from __future__ import annotations

import pytest

from lms.courses.models import Lesson
from lms.extensions import db
from tests.courses.conftest import (
    assert_api_error,
    order_in_page,
    page,
    reload,
    signed_in,
    token,
)

# Course detail and lessons -----------------------------------------------------------------------


def test_course_detail_lists_lessons_in_order(app, client, teacher, create_course):
    course = create_course(lessons=3)
    body = client.get(f"/api/v1/courses/{course.id}").get_json()
    assert [lesson["title"] for lesson in body["lessons"]] == ["第1课", "第2课", "第3课"]
    assert body["lessons"][0]["kind"] == "text"
    assert body["lessons"][0]["required"] is True
    assert body["lesson_count"] == 3
    assert body["summary"] == "<p>简介</p>"
    assert body["teachers"] == [{"id": teacher.id, "name": "李老师"}]

    # the teacher moves the third lesson up
    third = course.lessons[2]
    response = signed_in(app, teacher).post(f"/lessons/{third.id}/up")
    assert response.status_code == 302
    body = client.get(f"/api/v1/courses/{course.id}").get_json()
    assert [lesson["title"] for lesson in body["lessons"]] == ["第1课", "第3课", "第2课"]
    html = page(client.get(f"/courses/{course.id}"))
    assert order_in_page(html, ["第1课", "第2课", "第3课"]) == ["第1课", "第3课", "第2课"]


def test_moving_the_first_lesson_up_changes_nothing(app, teacher, create_course, client):
    course = create_course(lessons=2)
    signed_in(app, teacher).post(f"/lessons/{course.lessons[0].id}/up")
    body = client.get(f"/api/v1/courses/{course.id}").get_json()
    assert [lesson["title"] for lesson in body["lessons"]] == ["第1课", "第2课"]


def test_deleting_a_lesson_of_a_draft_renumbers(app, teacher, create_course):
    course = create_course(lessons=3, publish=False)
    client = signed_in(app, teacher)
    assert client.post(f"/lessons/{course.lessons[0].id}/delete").status_code == 302
    course = reload(course)
    assert [(lesson.title, lesson.position) for lesson in course.lessons] == [
        ("第2课", 1),
        ("第3课", 2),
    ]


def test_lessons_of_a_published_course_cannot_be_deleted(app, teacher, create_course):
    course = create_course(lessons=2)
    client = signed_in(app, teacher)
    response = client.post(f"/lessons/{course.lessons[0].id}/delete")
    assert response.status_code == 302
    assert "已发布的课程不能删除课时" in page(client.get(response.headers["Location"]))
    assert len(reload(course).lessons) == 2


def test_teacher_adds_a_text_lesson_through_the_api(app, client, teacher, create_course):
    course = create_course(lessons=1, publish=False)
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/lessons",
        json={
            "title": "第二课：饲料配比",
            "kind": "text",
            "body": "<p>玉米 60%</p><script>alert(1)</script>",
        },
        headers=token(app, teacher),
    )

    assert response.status_code == 201
    lesson = response.get_json()
    assert lesson["title"] == "第二课：饲料配比"
    assert lesson["kind"] == "text"
    assert lesson["required"] is True
    assert lesson["duration_s"] is None
    stored = db.session.get(Lesson, lesson["id"])
    assert stored.body == "<p>玉米 60%</p>"
    assert stored.position == 2
    detail = app.test_client().get(f"/api/v1/courses/{course.id}", headers=token(app, teacher))
    assert [item["title"] for item in detail.get_json()["lessons"]] == ["第1课", "第二课：饲料配比"]


def test_an_optional_lesson(app, teacher, create_course):
    course = create_course(lessons=0, publish=False)
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/lessons",
        json={"title": "拓展阅读", "kind": "text", "body": "<p>x</p>", "required": False},
        headers=token(app, teacher),
    )
    assert response.get_json()["required"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "视频课", "kind": "video", "body": "<p>x</p>"}, "media_id"),
        ({"title": "文档课", "kind": "document", "body": "<p>x</p>"}, "kind"),
        ({"title": "空课", "kind": "text", "body": "<script>alert(1)</script>"}, "body"),
        ({"title": "空课", "kind": "text", "body": "   "}, "body"),
        ({"title": "", "kind": "text", "body": "<p>x</p>"}, "title"),
        ({"kind": "text", "body": "<p>x</p>"}, "title"),
        ({"title": "无内容", "kind": "text"}, "body"),
    ],
)
def test_bad_lessons_are_refused(app, teacher, create_course, body, field):
    course = create_course(lessons=0, publish=False)
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/lessons", json=body, headers=token(app, teacher)
    )
    error = assert_api_error(response, 422, "validation_error")
    assert field in error["fields"], error
    assert reload(course).lessons == []


def test_residents_cannot_add_lessons(app, resident, create_course):
    published, draft = create_course(), create_course(publish=False)
    headers = token(app, resident)
    lesson = {"title": "捣乱", "kind": "text", "body": "<p>x</p>"}
    assert_api_error(
        app.test_client().post(
            f"/api/v1/courses/{published.id}/lessons", json=lesson, headers=headers
        ),
        403,
        "forbidden",
    )
    assert_api_error(
        app.test_client().post(f"/api/v1/courses/{draft.id}/lessons", json=lesson, headers=headers),
        404,
        "not_found",
    )
    assert len(reload(published).lessons) == 2


def test_teacher_adds_a_lesson_on_the_web(app, teacher, create_course):
    course = create_course(lessons=0, publish=False)
    client = signed_in(app, teacher)
    assert client.get(f"/courses/{course.id}/lessons/new").status_code == 200
    response = client.post(
        f"/courses/{course.id}/lessons/new",
        data={
            "title": "第一课",
            "body": "<p>开始</p><img src=x onerror=alert(1)>",
            "required": "y",
        },
    )
    assert response.status_code == 302
    lesson = reload(course).lessons[0]
    assert lesson.title == "第一课"
    assert "onerror" not in lesson.body
    assert "<p>开始</p>" in lesson.body


def test_remote_images_are_stripped_from_lesson_bodies_and_summaries():
    from lms.courses.content import sanitise_html

    html = (
        '<p>看图<img src="http://tracker.example/p.gif" alt="远程">'
        '<img src="//cdn.example/x.png"><img src="/media/covers/own.jpg" alt="本站"></p>'
    )
    clean = sanitise_html(html)
    assert "tracker.example" not in clean
    assert "cdn.example" not in clean
    assert '<img src="/media/covers/own.jpg" alt="本站">' in clean

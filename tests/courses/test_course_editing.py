"""Publishing, editing, unpublishing and archiving courses, who sees and changes what, and ids
that do not exist."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lms.courses.models import CourseStatus
from tests.courses.conftest import (
    assert_api_error,
    course_form,
    page,
    reload,
    signed_in,
    token,
)

# Publishing --------------------------------------------------------------------------------------


def test_a_course_without_lessons_cannot_be_published(app, teacher, create_course):
    course = create_course(lessons=0, publish=False)

    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/publish", headers=token(app, teacher)
    )
    error = assert_api_error(response, 409, "conflict")
    assert error["message"] == "课程至少要有一节课才能发布"

    client = signed_in(app, teacher)
    response = client.post(f"/courses/{course.id}/publish")
    assert response.status_code == 302
    assert "课程至少要有一节课才能发布" in page(client.get(response.headers["Location"]))
    assert reload(course).status is CourseStatus.DRAFT


def test_teacher_publishes_through_the_api(app, teacher, create_course):
    course = create_course(publish=False)
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/publish", headers=token(app, teacher)
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"
    assert response.get_json()["published_at"]
    course = reload(course)
    assert course.status is CourseStatus.PUBLISHED
    assert course.published_at is not None


def test_teacher_publishes_on_the_web(app, teacher, create_course, resident):
    course = create_course(publish=False)
    client = signed_in(app, teacher)
    response = client.post(f"/courses/{course.id}/publish")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/courses/{course.id}/edit"
    assert "课程已发布" in page(client.get(response.headers["Location"]))
    assert reload(course).status is CourseStatus.PUBLISHED
    # now residents see it
    assert signed_in(app, resident).get(f"/courses/{course.id}").status_code == 200


def test_publishing_twice_is_harmless(app, teacher, create_course):
    course = create_course()
    published_at = course.published_at
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/publish", headers=token(app, teacher)
    )
    assert response.status_code == 200
    assert reload(course).published_at == published_at


def test_provider_town_admin_publishes_a_teachers_course(app, create_course, fuji_admin):
    course = create_course(publish=False)
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/publish", headers=token(app, fuji_admin)
    )
    assert response.status_code == 200
    assert reload(course).status is CourseStatus.PUBLISHED


def test_a_resident_cannot_publish(app, create_course, resident):
    draft = create_course(publish=False)
    response = app.test_client().post(
        f"/api/v1/courses/{draft.id}/publish", headers=token(app, resident)
    )
    assert_api_error(response, 404, "not_found")
    assert signed_in(app, resident).post(f"/courses/{draft.id}/publish").status_code == 404
    assert reload(draft).status is CourseStatus.DRAFT


# Who sees and changes what -----------------------------------------------------------------------


def test_a_draft_is_hidden_from_residents_and_other_teachers(
    app, client, create_course, resident, other_teacher, jiaming_admin
):
    draft = create_course("还没写完的课", publish=False)
    for user in (resident, other_teacher, jiaming_admin):
        response = signed_in(app, user).get(f"/courses/{draft.id}")
        assert response.status_code == 404, user.name
        assert "还没写完的课" not in page(response)
        response = app.test_client().get(f"/api/v1/courses/{draft.id}", headers=token(app, user))
        assert_api_error(response, 404, "not_found")
    assert client.get(f"/courses/{draft.id}").status_code == 404
    assert_api_error(client.get(f"/api/v1/courses/{draft.id}"), 404, "not_found")


def test_a_draft_is_visible_to_its_teacher_and_the_provider_admin(
    app, create_course, teacher, fuji_admin, county_admin
):
    draft = create_course("还没写完的课", publish=False)
    for user in (teacher, fuji_admin, county_admin):
        response = signed_in(app, user).get(f"/courses/{draft.id}")
        assert response.status_code == 200, user.name
        assert "还没写完的课" in page(response)
        detail = app.test_client().get(f"/api/v1/courses/{draft.id}", headers=token(app, user))
        assert detail.status_code == 200
        assert detail.get_json()["status"] == "draft"


def test_a_draft_is_not_in_the_catalogue(client, create_course):
    create_course("还没写完的课", publish=False)
    assert "还没写完的课" not in page(client.get("/courses"))
    assert client.get("/api/v1/courses").get_json()["total"] == 0


def test_another_towns_admin_cannot_edit(app, create_course, jiaming_admin, categories):
    published = create_course("公开的课")
    draft = create_course("草稿课", publish=False)
    client = signed_in(app, jiaming_admin)

    assert client.get(f"/courses/{published.id}/edit").status_code == 403
    response = client.post(
        f"/courses/{published.id}/edit", data=course_form(categories, title="被改了")
    )
    assert response.status_code == 403
    assert client.post(f"/courses/{published.id}/unpublish").status_code == 403
    assert client.post(f"/courses/{published.id}/archive").status_code == 403
    assert client.get(f"/courses/{draft.id}/edit").status_code == 404
    response = app.test_client().post(
        f"/api/v1/courses/{published.id}/lessons",
        json={"title": "插一课", "kind": "text", "body": "<p>x</p>"},
        headers=token(app, jiaming_admin),
    )
    assert_api_error(response, 403, "forbidden")
    response = app.test_client().post(
        f"/api/v1/courses/{published.id}/publish", headers=token(app, jiaming_admin)
    )
    assert assert_api_error(response, 403, "forbidden")["message"] == "您不能修改这门课程"
    published = reload(published)
    assert published.title == "公开的课"
    assert published.status is CourseStatus.PUBLISHED
    assert len(published.lessons) == 2


def test_another_teacher_cannot_edit(app, create_course, other_teacher, categories):
    course = create_course("李老师的课")
    client = signed_in(app, other_teacher)
    assert client.get(f"/courses/{course.id}/edit").status_code == 403
    assert client.post(f"/courses/{course.id}/archive").status_code == 403
    assert reload(course).status is CourseStatus.PUBLISHED


def test_teacher_edits_their_course(app, teacher, create_course, categories):
    course = create_course()
    client = signed_in(app, teacher)
    response = client.post(
        f"/courses/{course.id}/edit",
        data=course_form(
            categories, title="生猪养殖（第二版）", category_id=str(categories["健康养生"].id)
        ),
    )
    assert response.status_code == 302
    course = reload(course)
    assert course.title == "生猪养殖（第二版）"
    assert course.category.name == "健康养生"
    assert course.hours == Decimal("8.0")


def test_provider_town_admin_unpublishes(app, create_course, fuji_admin, client):
    course = create_course("下架的课")
    admin = signed_in(app, fuji_admin)
    assert admin.get(f"/courses/{course.id}/edit").status_code == 200

    response = admin.post(f"/courses/{course.id}/unpublish")
    assert response.status_code == 302
    assert "课程已撤回为草稿" in page(admin.get(response.headers["Location"]))
    assert reload(course).status is CourseStatus.DRAFT
    assert "下架的课" not in page(client.get("/courses"))
    assert client.get(f"/courses/{course.id}").status_code == 404


def test_county_admin_unpublishes_any_course(app, create_course, county_admin):
    course = create_course()
    response = signed_in(app, county_admin).post(f"/courses/{course.id}/unpublish")
    assert response.status_code == 302
    assert reload(course).status is CourseStatus.DRAFT


def test_teacher_cannot_unpublish(app, teacher, create_course):
    course = create_course()
    response = signed_in(app, teacher).post(f"/courses/{course.id}/unpublish")
    assert response.status_code == 403
    assert reload(course).status is CourseStatus.PUBLISHED


def test_archiving_takes_a_course_out_of_the_catalogue(app, teacher, create_course, client):
    kept = create_course("留着的课")
    archived = create_course("归档的课")
    teacher_client = signed_in(app, teacher)

    response = teacher_client.post(f"/courses/{archived.id}/archive")
    assert response.status_code == 302
    assert "课程已归档" in page(teacher_client.get(response.headers["Location"]))
    assert reload(archived).status is CourseStatus.ARCHIVED

    html = page(client.get("/courses"))
    assert "留着的课" in html
    assert "归档的课" not in html
    listed = client.get("/api/v1/courses").get_json()
    assert [item["id"] for item in listed["items"]] == [kept.id]
    assert listed["total"] == 1

    # an archived course gets no new lessons
    response = app.test_client().post(
        f"/api/v1/courses/{archived.id}/lessons",
        json={"title": "新课时", "kind": "text", "body": "<p>x</p>"},
        headers=token(app, teacher),
    )
    assert_api_error(response, 409, "conflict")


def test_an_archived_course_cannot_be_published_again(app, teacher, create_course):
    course = create_course()
    web = signed_in(app, teacher)
    web.post(f"/courses/{course.id}/archive")
    response = app.test_client().post(
        f"/api/v1/courses/{course.id}/publish", headers=token(app, teacher)
    )
    assert response.status_code == 409
    web.post(f"/courses/{course.id}/publish")
    assert reload(course).status is CourseStatus.ARCHIVED


def test_an_archived_course_is_not_edited_any_more(app, teacher, create_course, categories):
    course = create_course("归档的课")
    client = signed_in(app, teacher)
    client.post(f"/courses/{course.id}/archive")
    client.post(f"/courses/{course.id}/edit", data=course_form(categories, title="归档后改名"))
    client.post(
        f"/lessons/{course.lessons[0].id}/edit",
        data={"title": "归档后改的课时", "body": "<p>新内容</p>", "required": "y"},
    )
    course = reload(course)
    assert course.title == "归档的课"
    assert course.lessons[0].title == "第1课"


# Things that do not exist ------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["999999", "99999999999999999999"])
def test_ids_that_do_not_exist_are_404_everywhere(app, teacher, county_admin, categories, missing):
    web = signed_in(app, teacher)
    for path in (
        f"/courses/{missing}",
        f"/courses/{missing}/edit",
        f"/courses/{missing}/lessons/new",
        f"/lessons/{missing}",
        f"/lessons/{missing}/edit",
    ):
        assert web.get(path).status_code == 404, path
    for path in (
        f"/courses/{missing}/publish",
        f"/courses/{missing}/archive",
        f"/lessons/{missing}/up",
        f"/lessons/{missing}/delete",
    ):
        assert web.post(path).status_code == 404, path
    assert signed_in(app, county_admin).get(f"/admin/categories/{missing}").status_code == 404

    api, headers = app.test_client(), token(app, teacher)
    assert_api_error(api.get(f"/api/v1/courses/{missing}", headers=headers), 404, "not_found")
    assert_api_error(
        api.post(f"/api/v1/courses/{missing}/publish", headers=headers), 404, "not_found"
    )
    assert_api_error(
        api.post(
            f"/api/v1/courses/{missing}/lessons",
            json={"title": "x", "kind": "text", "body": "<p>x</p>"},
            headers=headers,
        ),
        404,
        "not_found",
    )
    assert app.test_client().get(f"/covers/{missing}.jpg").status_code == 404

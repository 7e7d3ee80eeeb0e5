"""Courses: teachers create and publish them (web and API), covers are checked images, who may
see and change what, the catalogue with its filters, lessons, and the categories."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from lms.accounts.models import Role, User
from lms.courses.models import Category, Course, CourseStatus, Lesson
from lms.extensions import db
from lms.learning import operations as learning
from tests.conftest import api_token, sign_in, unit

# People and helpers ----------------------------------------------------------------------------


@pytest.fixture
def jiaming_teacher(create_user):
    return create_user(Role.TEACHER, "嘉明镇", name="周老师")


@pytest.fixture
def other_teacher(create_user):
    return create_user(Role.TEACHER, "福集镇", name="吴老师")


@pytest.fixture
def fuji_admin(create_user):
    return create_user(Role.ADMIN, "福集镇", name="赵站长")


@pytest.fixture
def jiaming_admin(create_user):
    return create_user(Role.ADMIN, "嘉明镇", name="钱站长")


@pytest.fixture
def county_admin(create_user):
    return create_user(Role.ADMIN, "泸县", name="孙校长")


def token(app, user) -> dict[str, str]:
    return api_token(app.test_client(), user)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def page(response) -> str:
    return response.get_data(as_text=True)


def course_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Course))


def reload(course: Course) -> Course:
    db.session.expire_all()
    return db.session.get(Course, course.id)


def covers_dir(app) -> Path:
    return Path(app.config["LMS_MEDIA_DIR"]) / "covers"


def cover_files(app) -> list[Path]:
    folder = covers_dir(app)
    return sorted(folder.iterdir()) if folder.exists() else []


def png(size=(1200, 900), colour=(200, 120, 40)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, colour).save(data, "PNG")
    data.seek(0)
    return data


def assert_api_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def course_form(categories, **changes) -> dict:
    data = {
        "title": "柑橘病虫害防治",
        "category_id": str(categories["农村实用技术"].id),
        "hours": "8",
        "summary": "<p>病虫害的识别与防治。</p>",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def course_body(**changes) -> dict:
    data = {
        "title": "柑橘病虫害防治",
        "summary": "<p>病虫害的识别与防治。</p>",
        "category": "农村实用技术",
        "hours": 8,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


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
    assert created["credits"] == 0.2
    assert created["provider"] == {"id": unit("福集镇").id, "name": "福集镇"}
    assert created["teachers"] == [{"id": teacher.id, "name": "李老师"}]
    assert created["lessons"] == []
    assert created["lesson_count"] == 0
    assert created["enrolled"] is False
    assert db.session.get(Course, created["id"]).status is CourseStatus.DRAFT


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


# Covers ---------------------------------------------------------------------------------------


def test_a_real_png_cover_is_fitted_to_960_by_540_jpeg(app, teacher, categories):
    client = signed_in(app, teacher)
    response = client.post(
        "/courses/new",
        data=course_form(categories, cover=(png((1200, 1200)), "封面.png")),
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    course = db.session.scalar(select(Course))
    assert course.cover.startswith("covers/")
    files = cover_files(app)
    assert len(files) == 1
    assert course.cover == f"covers/{files[0].name}"
    assert files[0].suffix == ".jpg"
    with Image.open(files[0]) as image:
        assert image.format == "JPEG"
        assert image.size == (960, 540)
    # the cover is served, and the API links to it
    detail = app.test_client().get(f"/api/v1/courses/{course.id}", headers=token(app, teacher))
    cover_url = detail.get_json()["cover_url"]
    with app.test_client().get(cover_url) as served:
        assert served.status_code == 200
        assert served.mimetype == "image/jpeg"


def test_no_cover_chosen_is_fine(app, teacher, categories):
    client = signed_in(app, teacher)
    response = client.post(
        "/courses/new",
        data=course_form(categories, cover=(io.BytesIO(b""), "")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Course)).cover is None
    assert cover_files(app) == []


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"this is not an image at all\n" * 10, "fake.png", "封面不是有效的图片文件"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "broken.png", "封面不是有效的图片文件"),
        (b"", "empty.png", "封面文件是空的"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(app, teacher, categories, content, name, message):
    client = signed_in(app, teacher)
    response = client.post(
        "/courses/new",
        data=course_form(categories, cover=(io.BytesIO(content), name)),
        content_type="multipart/form-data",
    )
    assert response.status_code in (415, 422)
    assert message in page(response)
    assert course_count() == 0
    assert cover_files(app) == []


def test_an_image_in_an_unsupported_format_is_refused(app, teacher, categories):
    bmp = io.BytesIO()
    Image.new("RGB", (64, 36), (10, 20, 30)).save(bmp, "BMP")
    bmp.seek(0)
    client = signed_in(app, teacher)
    response = client.post(
        "/courses/new",
        data=course_form(categories, cover=(bmp, "cover.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code in (415, 422)
    assert "封面只支持" in page(response)
    assert course_count() == 0
    assert cover_files(app) == []


@pytest.mark.parametrize("app_config", [{"LMS_COVER_MAX_BYTES": 1000}])
def test_an_oversized_cover_is_refused_and_nothing_is_saved(app, teacher, categories):
    noisy = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(noisy, "PNG")
    assert noisy.tell() > 1000
    noisy.seek(0)
    client = signed_in(app, teacher)
    response = client.post(
        "/courses/new",
        data=course_form(categories, cover=(noisy, "big.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code in (413, 422)
    assert "封面图片不能超过" in page(response)
    assert course_count() == 0
    assert cover_files(app) == []


@pytest.mark.parametrize("app_config", [{"LMS_COVER_MAX_BYTES": 1000}])
def test_a_cover_within_the_limit_is_accepted(app, teacher, categories):
    small = png((64, 36))
    assert len(small.getvalue()) < 1000
    client = signed_in(app, teacher)
    response = client.post(
        "/courses/new",
        data=course_form(categories, cover=(small, "small.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert len(cover_files(app)) == 1


def test_replacing_a_cover_deletes_the_old_file(app, teacher, categories):
    client = signed_in(app, teacher)
    client.post(
        "/courses/new",
        data=course_form(categories, cover=(png(), "one.png")),
        content_type="multipart/form-data",
    )
    course = db.session.scalar(select(Course))
    [old] = cover_files(app)

    response = client.post(
        f"/courses/{course.id}/edit",
        data=course_form(categories, cover=(png(colour=(0, 90, 200)), "two.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    [new] = cover_files(app)
    assert new != old
    assert reload(course).cover == f"covers/{new.name}"


def test_a_refused_new_cover_keeps_the_course_as_it_was(app, teacher, categories):
    client = signed_in(app, teacher)
    client.post(
        "/courses/new",
        data=course_form(categories, cover=(png(), "one.png")),
        content_type="multipart/form-data",
    )
    course = db.session.scalar(select(Course))
    [old] = cover_files(app)

    response = client.post(
        f"/courses/{course.id}/edit",
        data=course_form(categories, title="改过的名字", cover=(io.BytesIO(b"nope"), "x.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert cover_files(app) == [old]
    course = reload(course)
    assert course.title == "柑橘病虫害防治"
    assert course.cover == f"covers/{old.name}"


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


# The catalogue -----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(create_course, jiaming_teacher, create_user):
    """Four published courses (the newest last) and a draft; 农村法律常识 is the most popular."""
    made = {
        "生猪科学养殖技术": create_course("生猪科学养殖技术", category="农村实用技术"),
        "中老年健康养生": create_course("中老年健康养生", category="健康养生", hours=8),
        "农村法律常识": create_course("农村法律常识", category="法制教育", hours=4),
        "柑橘种植技术": create_course("柑橘种植技术", by=jiaming_teacher),
    }
    create_course("未发布的课", publish=False)
    learners = [create_user(name=f"学员{n}") for n in range(3)]
    for learner in learners[:2]:
        learning.enrol(learner, made["农村法律常识"])
    learning.enrol(learners[2], made["生猪科学养殖技术"])
    db.session.commit()
    return made


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in response.get_json()["items"]]


def order_in_page(html: str, names) -> list[str]:
    present = [name for name in names if name in html]
    return sorted(present, key=html.index)


def test_catalogue_lists_published_courses_newest_first(client, catalogue):
    response = client.get("/api/v1/courses")
    body = response.get_json()
    assert titles(response) == [
        "柑橘种植技术",
        "农村法律常识",
        "中老年健康养生",
        "生猪科学养殖技术",
    ]
    assert body["total"] == 4
    assert body["page"] == 1
    assert body["per_page"] == 20
    item = body["items"][1]
    assert item["category"] == "法制教育"
    assert item["hours"] == 4.0
    assert item["credits"] == 0.2
    assert item["provider"]["name"] == "福集镇"
    assert item["lesson_count"] == 2
    assert item["enrolled"] is False

    html = page(client.get("/courses"))
    assert order_in_page(html, catalogue) == [
        "柑橘种植技术",
        "农村法律常识",
        "中老年健康养生",
        "生猪科学养殖技术",
    ]
    assert "未发布的课" not in html
    assert "共 4 门课程" in html


def test_catalogue_by_popularity(client, catalogue):
    assert titles(client.get("/api/v1/courses?order=popular")) == [
        "农村法律常识",
        "生猪科学养殖技术",
        "柑橘种植技术",
        "中老年健康养生",
    ]
    html = page(client.get("/courses?order=popular"))
    assert order_in_page(html, catalogue)[:2] == ["农村法律常识", "生猪科学养殖技术"]


def test_catalogue_filtered_by_category(client, catalogue, categories):
    wanted = ["柑橘种植技术", "生猪科学养殖技术"]
    assert titles(client.get("/api/v1/courses?category=农村实用技术")) == wanted
    category_id = categories["农村实用技术"].id
    assert titles(client.get(f"/api/v1/courses?category={category_id}")) == wanted
    html = page(client.get(f"/courses?category={category_id}"))
    assert order_in_page(html, catalogue) == wanted


def test_catalogue_search(client, catalogue):
    assert titles(client.get("/api/v1/courses", query_string={"q": "养生"})) == ["中老年健康养生"]
    assert titles(client.get("/api/v1/courses", query_string={"q": "技术"})) == [
        "柑橘种植技术",
        "生猪科学养殖技术",
    ]
    assert titles(client.get("/api/v1/courses", query_string={"q": "%"})) == []
    assert titles(client.get("/api/v1/courses", query_string={"q": "没有这种课"})) == []
    html = page(client.get("/courses", query_string={"q": "法律"}))
    assert order_in_page(html, catalogue) == ["农村法律常识"]
    html = page(client.get("/courses", query_string={"q": "没有这种课"}))
    assert "没有找到和“没有这种课”有关的课程" in html


def test_catalogue_filters_combine(client, catalogue):
    response = client.get("/api/v1/courses", query_string={"q": "柑橘", "category": "健康养生"})
    assert titles(response) == []


def test_catalogue_filtered_by_provider_town(client, catalogue, county):
    fuji = titles(client.get(f"/api/v1/courses?org_unit_id={unit('福集镇').id}"))
    assert fuji == ["农村法律常识", "中老年健康养生", "生猪科学养殖技术"]
    jiaming = titles(client.get(f"/api/v1/courses?org_unit_id={unit('嘉明镇').id}"))
    assert jiaming == ["柑橘种植技术"]
    assert len(titles(client.get(f"/api/v1/courses?org_unit_id={county.id}"))) == 4
    village = unit("福集镇一村").id
    assert titles(client.get(f"/api/v1/courses?org_unit_id={village}")) == []


def test_catalogue_pages(client, catalogue):
    response = client.get("/api/v1/courses?per_page=1&page=2")
    body = response.get_json()
    assert titles(response) == ["农村法律常识"]
    assert (body["total"], body["page"], body["per_page"]) == (4, 2, 1)
    assert titles(client.get("/api/v1/courses?per_page=3&page=2")) == ["生猪科学养殖技术"]
    assert titles(client.get("/api/v1/courses?per_page=2&page=9")) == []
    assert len(titles(client.get("/api/v1/courses?per_page=100"))) == 4


def test_web_catalogue_pages_twelve_at_a_time(client, create_course):
    for number in range(13):
        create_course(f"课程编号{number:02d}号", lessons=1)
    first = page(client.get("/courses"))
    second = page(client.get("/courses?page=2"))
    assert "课程编号12号" in first
    assert "课程编号01号" in first
    assert "课程编号00号" not in first
    assert "课程编号00号" in second
    assert "课程编号12号" not in second


@pytest.mark.parametrize("page_number", ["0", "-1", "abc", "99999999999999999999"])
def test_web_catalogue_survives_odd_page_numbers(client, catalogue, page_number):
    assert client.get("/courses", query_string={"page": page_number}).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999", "page"),
        ("order=random", "order"),
        ("org_unit_id=999999", "org_unit_id"),
        ("org_unit_id=abc", "org_unit_id"),
        ("org_unit_id=99999999999999999999", "org_unit_id"),
        ("category=没有的分类", "category"),
        ("q=" + "长" * 101, "q"),
    ],
)
def test_catalogue_refuses_bad_queries(client, catalogue, query, field):
    response = client.get(f"/api/v1/courses?{query}")
    error = assert_api_error(response, 422, "validation_error")
    assert field in error["fields"], error


def test_catalogue_marks_enrolled_courses_for_the_signed_in_user(app, client, catalogue):
    student = db.session.scalar(select(User).filter_by(name="学员2"))  # took 生猪科学养殖技术
    body = app.test_client().get("/api/v1/courses", headers=token(app, student)).get_json()
    assert {item["title"]: item["enrolled"] for item in body["items"]} == {
        "柑橘种植技术": False,
        "农村法律常识": False,
        "中老年健康养生": False,
        "生猪科学养殖技术": True,
    }
    assert all(
        item["enrolled"] is False for item in client.get("/api/v1/courses").get_json()["items"]
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


# Categories --------------------------------------------------------------------------------------


def test_county_admin_adds_a_category(app, county_admin, categories):
    client = signed_in(app, county_admin)
    response = client.get("/admin/categories")
    assert response.status_code == 200
    assert all(name in page(response) for name in categories)

    response = client.post("/admin/categories", data={"name": " 数字素养 "})
    assert response.status_code == 302
    assert "分类已添加" in page(client.get("/admin/categories"))
    assert db.session.scalar(select(Category).filter_by(name="数字素养")) is not None


def test_a_duplicate_category_is_refused(app, county_admin, categories):
    client = signed_in(app, county_admin)
    before = db.session.scalar(select(func.count()).select_from(Category))
    response = client.post("/admin/categories", data={"name": "健康养生"})
    assert response.status_code in (409, 422)
    assert "已有同名分类" in page(response)
    assert db.session.scalar(select(func.count()).select_from(Category)) == before


def test_county_admin_renames_and_retires_a_category(app, county_admin, teacher, categories):
    client = signed_in(app, county_admin)
    category = categories["健康养生"]
    assert client.get(f"/admin/categories/{category.id}").status_code == 200

    response = client.post(
        f"/admin/categories/{category.id}", data={"name": "健康与养生", "active": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, category.id).name == "健康与养生"

    response = client.post(
        f"/admin/categories/{category.id}", data={"name": "法制教育", "active": "y"}
    )
    assert response.status_code in (409, 422)
    assert "已有同名分类" in page(response)
    db.session.expire_all()
    assert db.session.get(Category, category.id).name == "健康与养生"

    # retired: no longer offered to teachers, nor accepted by the API
    client.post(f"/admin/categories/{category.id}", data={"name": "健康与养生"})
    db.session.expire_all()
    assert db.session.get(Category, category.id).active is False
    assert "健康与养生" not in page(signed_in(app, teacher).get("/courses/new"))
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(category="健康与养生"), headers=token(app, teacher)
    )
    assert "category" in assert_api_error(response, 422)["fields"]


def test_a_blank_category_name_is_refused(app, county_admin, categories):
    client = signed_in(app, county_admin)
    response = client.post("/admin/categories", data={"name": "<script></script>"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Category)) == 3


def test_only_the_county_admin_manages_categories(app, fuji_admin, teacher, resident, categories):
    category = categories["健康养生"]
    for user in (fuji_admin, teacher, resident):
        client = signed_in(app, user)
        assert client.get("/admin/categories").status_code == 403
        assert client.post("/admin/categories", data={"name": "新分类"}).status_code == 403
        assert (
            client.post(f"/admin/categories/{category.id}", data={"name": "改名"}).status_code
            == 403
        )
    db.session.expire_all()
    assert db.session.scalar(select(Category).filter_by(name="新分类")) is None
    assert db.session.get(Category, category.id).name == "健康养生"


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

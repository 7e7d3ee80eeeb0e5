"""Course covers: real images are fitted to 960x540 JPEG with copies 320 and 640 pixels wide for
the cards (srcset), anything else is refused, and a replaced cover's files go away."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from lms.courses.models import Course
from lms.extensions import db
from tests.courses.conftest import (
    course_count,
    course_form,
    cover_files,
    page,
    png,
    reload,
    signed_in,
    token,
)

# Covers ---------------------------------------------------------------------------------------


def send_course_form(client, categories, cover, filename, *, path="/courses/new", **changes):
    """Post the course form (new course, or *path*) with *cover* uploaded as *filename*."""
    return client.post(
        path,
        data=course_form(categories, cover=(cover, filename), **changes),
        content_type="multipart/form-data",
    )


def assert_nothing_saved(app) -> None:
    """A refused cover leaves neither a course nor a file behind."""
    assert course_count() == 0
    assert cover_files(app, copies=True) == []


def test_a_real_png_cover_is_fitted_to_960_by_540_jpeg(app, teacher, categories):
    client = signed_in(app, teacher)
    response = send_course_form(client, categories, png((1200, 1200)), "封面.png")

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
    copies = [path for path in cover_files(app, copies=True) if path not in files]
    assert [path.name for path in copies] == [
        f"{files[0].stem}-320.jpg",
        f"{files[0].stem}-640.jpg",
    ]
    for path, width in zip(copies, (320, 640), strict=True):
        with Image.open(path) as image:
            assert image.size == (width, width * 9 // 16)
        assert path.stat().st_size < files[0].stat().st_size
    # The course page offers the copies; a phone takes the one it needs.
    course_page = page(client.get(f"/courses/{course.id}"))
    assert f"{files[0].stem}-320.jpg 320w" in course_page
    assert f"{files[0].stem}-640.jpg 640w" in course_page
    with app.test_client().get(f"/covers/{files[0].stem}-320.jpg") as served:
        assert served.status_code == 200
        assert "immutable" in served.headers["Cache-Control"]
    # the cover is served, and the API links to it
    detail = app.test_client().get(f"/api/v1/courses/{course.id}", headers=token(app, teacher))
    cover_url = detail.get_json()["cover_url"]
    with app.test_client().get(cover_url) as served:
        assert served.status_code == 200
        assert served.mimetype == "image/jpeg"


def test_no_cover_chosen_is_fine(app, teacher, categories):
    client = signed_in(app, teacher)
    response = send_course_form(client, categories, io.BytesIO(b""), "")
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
    response = send_course_form(client, categories, io.BytesIO(content), name)
    assert response.status_code in (415, 422)
    assert message in page(response)
    assert_nothing_saved(app)


def test_an_image_in_an_unsupported_format_is_refused(app, teacher, categories):
    bmp = io.BytesIO()
    Image.new("RGB", (64, 36), (10, 20, 30)).save(bmp, "BMP")
    bmp.seek(0)
    client = signed_in(app, teacher)
    response = send_course_form(client, categories, bmp, "cover.png")
    assert response.status_code in (415, 422)
    assert "封面只支持" in page(response)
    assert_nothing_saved(app)


@pytest.mark.parametrize("app_config", [{"LMS_COVER_MAX_BYTES": 1000}])
def test_an_oversized_cover_is_refused_and_nothing_is_saved(app, teacher, categories):
    noisy = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(noisy, "PNG")
    assert noisy.tell() > 1000
    noisy.seek(0)
    client = signed_in(app, teacher)
    response = send_course_form(client, categories, noisy, "big.png")
    assert response.status_code in (413, 422)
    assert "封面图片不能超过" in page(response)
    assert_nothing_saved(app)


@pytest.mark.parametrize("app_config", [{"LMS_COVER_MAX_BYTES": 1000}])
def test_a_cover_within_the_limit_is_accepted(app, teacher, categories):
    small = png((64, 36))
    assert len(small.getvalue()) < 1000
    client = signed_in(app, teacher)
    response = send_course_form(client, categories, small, "small.png")
    assert response.status_code == 302
    assert len(cover_files(app)) == 1


def test_replacing_a_cover_deletes_the_old_file(app, teacher, categories):
    client = signed_in(app, teacher)
    send_course_form(client, categories, png(), "one.png")
    course = db.session.scalar(select(Course))
    [old] = cover_files(app)

    response = send_course_form(
        client, categories, png(colour=(0, 90, 200)), "two.png", path=f"/courses/{course.id}/edit"
    )
    assert response.status_code == 302
    [new] = cover_files(app)
    assert new != old
    assert {path.stem for path in cover_files(app, copies=True)} == {
        new.stem,
        f"{new.stem}-320",
        f"{new.stem}-640",
    }
    assert reload(course).cover == f"covers/{new.name}"


def test_a_refused_new_cover_keeps_the_course_as_it_was(app, teacher, categories):
    client = signed_in(app, teacher)
    send_course_form(client, categories, png(), "one.png")
    course = db.session.scalar(select(Course))
    [old] = cover_files(app)

    response = send_course_form(
        client,
        categories,
        io.BytesIO(b"nope"),
        "x.png",
        path=f"/courses/{course.id}/edit",
        title="改过的名字",
    )
    assert response.status_code == 422
    assert cover_files(app) == [old]
    assert len(cover_files(app, copies=True)) == 3
    course = reload(course)
    assert course.title == "柑橘病虫害防治"
    assert course.cover == f"covers/{old.name}"

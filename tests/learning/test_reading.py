"""Time behind text and document lessons: marked learnt only after they have been open for a
reading time the server estimates (characters of text, pages of a document), never twice."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfWriter
from sqlalchemy import select

from lms.core.time import utcnow
from lms.courses import operations as courses
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning.models import LessonProgress
from lms.learning.reading import reading_seconds
from lms.media import documents
from lms.media.models import Material
from lms.media.operations import lessons as media_lessons
from tests.conftest import api_token, sign_in


def pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _number in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def ooxml(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def course(create_course, resident):
    course = create_course(lessons=0, publish=False)
    courses.add_text_lesson(course, title="长文", body="<p>" + "乡" * 1500 + "</p>")  # 5 min
    courses.add_text_lesson(course, title="短文", body="<p>一句话</p>")  # the floor
    courses.publish_course(course)
    learning.enrol(resident, course)
    db.session.commit()
    return course


def opened_ago(resident, lesson, seconds: float) -> None:
    learning.open_lesson(resident, lesson)
    progress = db.session.scalar(
        select(LessonProgress).filter_by(user_id=resident.id, lesson_id=lesson.id)
    )
    progress.opened_at = utcnow() - timedelta(seconds=seconds)
    db.session.commit()


def test_reading_time_comes_from_the_text_with_a_floor_and_a_cap(app, course):
    long, short = course.lessons
    assert reading_seconds(long) == 300  # 1,500 characters at 300 a minute
    assert reading_seconds(short) == 30
    app.config["LMS_READING_CAP_S"] = 120
    assert reading_seconds(long) == 120


def test_marking_early_says_how_long_is_left_and_records_nothing(client, resident, course):
    long = course.lessons[0]
    headers = api_token(client, resident)
    client.get(f"/api/v1/lessons/{long.id}", headers=headers)
    opened_ago(resident, long, 100)
    response = client.post(f"/api/v1/lessons/{long.id}/completion", headers=headers)
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    # 200 s left when the lesson was opened 100 s ago; a few seconds more may pass on a busy machine.
    assert re.fullmatch(r"请再学习 3 分 (1\d|20) 秒后再标记学完", message), message
    lesson = client.get(f"/api/v1/lessons/{long.id}", headers=headers).get_json()
    assert lesson["reading_s"] == 300
    assert 190 <= lesson["reading_remaining_s"] <= 200
    progress = db.session.scalar(select(LessonProgress).filter_by(lesson_id=long.id))
    assert progress.completed_at is None


def test_after_the_reading_time_marking_completes_once(client, resident, course):
    short = course.lessons[1]
    headers = api_token(client, resident)
    opened_ago(resident, short, 31)
    first = client.post(f"/api/v1/lessons/{short.id}/completion", headers=headers)
    assert first.status_code == 200
    assert first.get_json()["completed"] is True
    completed_at = db.session.scalar(
        select(LessonProgress.completed_at).filter_by(lesson_id=short.id)
    )
    again = client.post(f"/api/v1/lessons/{short.id}/completion", headers=headers)
    assert again.status_code == 200  # unchanged
    assert (
        db.session.scalar(select(LessonProgress.completed_at).filter_by(lesson_id=short.id))
        == completed_at
    )
    lesson = client.get(f"/api/v1/lessons/{short.id}", headers=headers).get_json()
    assert lesson["reading_remaining_s"] == 0


def test_the_page_shows_the_time_left_and_the_button_says_it_too(client, resident, course):
    long = course.lessons[0]
    sign_in(client, resident)
    html = client.get(f"/lessons/{long.id}").get_data(as_text=True)
    assert "还需学习 5 分 0 秒，才能标记学完。" in html
    assert "data-reading-remaining=" in html
    response = client.post(f"/lessons/{long.id}/learnt", follow_redirects=True)
    # A second or two may pass between the page and the tap on a busy machine.
    assert re.search(r"请再学习 (4 分 5\d|5 分 0) 秒后再标记学完", response.get_data(as_text=True))
    assert (
        db.session.scalar(select(LessonProgress.completed_at).filter_by(lesson_id=long.id)) is None
    )


def test_document_lessons_read_by_their_pages(app, course, teacher):
    lesson = media_lessons.add_document_lesson(
        course, teacher, title="讲义", filename="讲义.pdf", stream=io.BytesIO(pdf(3))
    )
    db.session.commit()
    material = db.session.scalar(select(Material).filter_by(lesson_id=lesson.id))
    assert material.pages == 3
    assert reading_seconds(lesson) == 3 * 60
    material.pages = None  # not counted: estimated from the size
    assert reading_seconds(lesson) == 60


@pytest.mark.parametrize(
    ("kind", "parts", "pages"),
    [
        ("pptx", {"ppt/presentation.xml": "<p/>", "ppt/slides/slide1.xml": "<s/>",
                  "ppt/slides/slide2.xml": "<s/>", "ppt/slides/_rels/slide1.xml.rels": "<r/>"}, 2),
        ("xlsx", {"xl/workbook.xml": "<w/>", "xl/worksheets/sheet1.xml": "<s/>"}, 1),
        ("docx", {"word/document.xml": "<d/>",
                  "docProps/app.xml": "<Properties><Pages>7</Pages></Properties>"}, 7),
        ("docx", {"word/document.xml": "<d/>"}, None),
    ],
)  # fmt: skip
def test_pages_are_counted_for_every_kind(tmp_path, kind, parts, pages):
    path = tmp_path / f"file.{kind}"
    path.write_bytes(ooxml(parts))
    assert documents.count_pages(path, kind) == pages


def test_a_damaged_file_has_no_count(tmp_path):
    path = tmp_path / "file.pdf"
    path.write_bytes(b"%PDF-1.4 broken")
    assert documents.count_pages(path, "pdf") is None

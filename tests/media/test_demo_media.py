"""The demo's media: a cover per course, a PDF document, and a narrated video lesson made from a
slide and espeak-ng's Mandarin, transcoded like any upload and playable on the lesson page."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from lms.core import storage
from lms.courses.content import cover_files
from lms.extensions import db
from lms.learning import operations as learning
from lms.media import demo_media
from lms.media.models import LessonMedia, Material, MediaStatus
from tests.conftest import sign_in

pytestmark = [
    pytest.mark.once,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng"),
]


@pytest.fixture
def app_config() -> dict:
    return {"LMS_DEMO_MEDIA": True}


def test_demo_course_gets_a_cover_a_pdf_and_a_narrated_video(
    app, create_course, teacher, resident, client
):
    course = create_course("高血压的预防与管理", category="健康养生")
    demo_media.add_demo_media([course], [teacher], echo=lambda line: None)
    db.session.commit()  # sends the transcoding job (run at once in tests)

    assert course.cover
    assert all(storage.media_path(path).is_file() for path in cover_files(course.cover))

    document = db.session.scalar(select(Material).filter_by(course_id=course.id))
    assert (document.filename, document.kind, document.pages) == ("家庭血压记录表.pdf", "pdf", 1)

    [video] = [lesson for lesson in course.lessons if lesson.kind.value == "video"]
    asset = db.session.scalar(select(LessonMedia).filter_by(lesson_id=video.id)).asset
    db.session.refresh(asset)
    assert asset.status is MediaStatus.READY, asset.error
    assert 2 <= asset.duration_s <= 8  # a few seconds: the first start stays quick
    assert asset.probe["has_audio"]  # the narration is there
    assert (asset.probe["width"], asset.probe["height"]) == (854, 480)
    assert not video.required  # the demo's history of completed courses stays as it was

    learning.enrol(resident, course)
    db.session.commit()
    sign_in(client, resident)
    page = client.get(f"/lessons/{video.id}").get_data(as_text=True)
    assert "data-player" in page
    assert "data-player-start" in page

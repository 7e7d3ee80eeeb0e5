"""Fixtures of the learning tests: a published course with a video lesson, and a resident
enrolled in it holding an API token."""

from __future__ import annotations

import pytest

from lms.courses import operations as courses
from lms.courses.models import LessonKind
from lms.extensions import db
from lms.learning import operations as learning
from tests.conftest import api_token

DURATION = 100


@pytest.fixture
def course(teacher, categories):
    course = courses.create_course(
        teacher, title="养殖视频课", summary="", hours=8, category=categories["农村实用技术"]
    )
    courses.add_lesson(course, title="第一讲", kind=LessonKind.VIDEO, duration_s=DURATION)
    courses.add_lesson(course, title="讲义", body="<p>讲义内容</p>")
    courses.add_lesson(
        course, title="选修视频", kind=LessonKind.VIDEO, duration_s=50, required=False
    )
    courses.publish_course(course)
    db.session.commit()
    return course


@pytest.fixture
def video(course):
    return course.lessons[0]


@pytest.fixture
def headers(client, resident, course):
    learning.enrol(resident, course)
    db.session.commit()
    return api_token(client, resident)

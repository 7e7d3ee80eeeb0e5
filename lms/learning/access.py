"""Who may study what."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from lms.accounts.models import User
from lms.courses import access as courses_access
from lms.courses.models import Course, CourseStatus, Lesson
from lms.learning.models import Enrolment
from lms.learning.operations import find_enrolment


def active_enrolment(user: User, course: Course) -> Enrolment | None:
    if not user.is_authenticated:
        return None
    enrolment = find_enrolment(user, course)
    return enrolment if enrolment is not None and enrolment.active else None


def can_study(user: User, lesson: Lesson) -> bool:
    """Enrolled residents study a course's lessons; its editors preview them; an open course's
    lessons are for anyone while it is published."""
    course = lesson.course
    # Enrolled residents are by far the most frequent askers (every heartbeat): ask that first.
    if course.status is not CourseStatus.DRAFT and active_enrolment(user, course) is not None:
        return True
    if courses_access.can_edit_course(user, course):
        return True
    return course.is_open and course.status is CourseStatus.PUBLISHED


def get_course_for_enrolment_or_404(course_id: int) -> Course:
    return courses_access.get_course_or_404(course_id, current_user)


def lesson_or_404(lesson_id: int) -> Lesson:
    from lms.extensions import db

    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not courses_access.can_view_course(current_user, lesson.course):
        abort(404)
    return lesson

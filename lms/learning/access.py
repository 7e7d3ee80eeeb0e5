"""Who may study what."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import attributes

from lms.accounts.models import User
from lms.courses import access as courses_access
from lms.courses.models import Course, CourseStatus, Lesson
from lms.extensions import db
from lms.learning.models import Enrolment
from lms.learning.operations import find_enrolment

_LESSON_AND_COURSE = (
    select(Lesson, Course)
    .join(Course, Course.id == Lesson.course_id)
    .where(Lesson.id == bindparam("lesson_id"))
)


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
    """The course the current user enrols in or withdraws from, if they may see it."""
    return courses_access.get_course_or_404(course_id, current_user)


def get_lesson_or_404(lesson_id: int, *, to_study: bool = False) -> Lesson:
    """The lesson, if the current user may see its course (else 404) and, *to_study*, study
    it (else 403). Pages and the API load lessons here alike."""
    # The lesson and its course in one read; the courses' loader then finds both in the session
    # (and the lesson keeps its course, so asking for it again costs nothing).
    row = db.session.execute(_LESSON_AND_COURSE, {"lesson_id": lesson_id}).first()
    if row is not None:
        attributes.set_committed_value(row[0], "course", row[1])
    lesson = courses_access.get_lesson_or_404(lesson_id, current_user)
    if to_study and not can_study(current_user, lesson):
        abort(403, _("请先报名这门课程再开始学习"))
    return lesson

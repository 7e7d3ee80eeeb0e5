"""Progress a resident can see: which lessons of a course they have finished (the ticks), x of y
and the bar on 我的课程 and the course page, and the lesson to take next. Reads only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from lms.accounts.models import User
from lms.courses.models import Course, Lesson
from lms.extensions import db
from lms.learning.models import Enrolment, LessonProgress


@dataclass(frozen=True)
class CourseProgress:
    """How far one resident is through one course."""

    lessons: list[Lesson]
    finished_ids: frozenset[int]
    completed_at: datetime | None  # the course as a whole (all its required lessons)

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.id in self.finished_ids)

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0

    @property
    def started(self) -> bool:
        return self.done > 0

    def finished(self, lesson: Lesson) -> bool:
        return lesson.id in self.finished_ids

    @property
    def next_lesson(self) -> Lesson | None:
        """The first lesson not yet finished (the first one when all are)."""
        for lesson in self.lessons:
            if lesson.id not in self.finished_ids:
                return lesson
        return self.lessons[0] if self.lessons else None

    def after(self, lesson: Lesson) -> Lesson | None:
        """The lesson to offer at the end of *lesson*: the next one not yet finished after it,
        else any unfinished one before it, else None (the course is done)."""
        index = self.lessons.index(lesson) if lesson in self.lessons else -1
        rest = self.lessons[index + 1 :] + self.lessons[: max(index, 0)]
        return next((other for other in rest if other.id not in self.finished_ids), None)


def finished_lesson_ids(user: User, course_ids: Iterable[int]) -> dict[int, set[int]]:
    """The lessons *user* has finished, per course, in one read."""
    course_ids = list(course_ids)
    found: dict[int, set[int]] = {course_id: set() for course_id in course_ids}
    if not user.is_authenticated or not course_ids:
        return found
    rows = db.session.execute(
        select(Lesson.course_id, LessonProgress.lesson_id)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(
            LessonProgress.user_id == user.id,
            LessonProgress.completed_at.is_not(None),
            Lesson.course_id.in_(course_ids),
        )
    )
    for course_id, lesson_id in rows:
        found[course_id].add(lesson_id)
    return found


def progress_of(
    user: User, course: Course, enrolment: Enrolment | None, finished: set[int] | None = None
) -> CourseProgress:
    if finished is None:
        finished = finished_lesson_ids(user, [course.id])[course.id]
    return CourseProgress(
        lessons=list(course.lessons),
        finished_ids=frozenset(finished),
        completed_at=enrolment.completed_at if enrolment is not None else None,
    )


def progress_of_enrolments(user: User, enrolments: list[Enrolment]) -> dict[int, CourseProgress]:
    """For 我的课程: each enrolment's course progress, keyed by course id, in one read."""
    finished = finished_lesson_ids(user, [e.course_id for e in enrolments])
    return {e.course_id: progress_of(user, e.course, e, finished[e.course_id]) for e in enrolments}

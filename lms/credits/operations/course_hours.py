"""Certified course hours (课程学时认定): what a course contains, measured; the registrar's
certification; and the credits it releases to everyone who already completed the course.

The certification itself (its rules, the course's columns, the audit entry) is the courses
feature's operation; this module measures the content, which needs the learning feature's
reading estimate, and credits the completions, which is the credit bank's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from lms.accounts.models import User
from lms.core.text import plain_text
from lms.courses import operations as courses
from lms.courses.models import Course, Lesson, LessonKind
from lms.credits.models import LedgerEntry
from lms.credits.operations.outcomes import record_course_completion
from lms.extensions import db
from lms.learning.models import Enrolment

SECONDS_PER_HOUR = Decimal(3600)
READING_CHARS_PER_MINUTE = 300  # the fallback estimate: plain text read at 300 字 a minute


@dataclass(frozen=True)
class Measured:
    """What a course actually contains: seconds of video, seconds of reading (text and
    document lessons), and their sum in hours (exact, and to one decimal for display)."""

    video_s: int
    reading_s: int
    video_lessons: int
    reading_lessons: int

    @property
    def seconds(self) -> int:
        return self.video_s + self.reading_s

    @property
    def exact_hours(self) -> Decimal:
        return Decimal(self.seconds) / SECONDS_PER_HOUR

    @property
    def hours(self) -> Decimal:
        return self.exact_hours.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def video_minutes(self) -> int:
        return round(self.video_s / 60)

    @property
    def reading_minutes(self) -> int:
        return round(self.reading_s / 60)

    def as_detail(self) -> dict:
        return {
            "video_s": self.video_s,
            "reading_s": self.reading_s,
            "video_lessons": self.video_lessons,
            "reading_lessons": self.reading_lessons,
        }


def _fallback_reading_seconds(lesson: Lesson) -> int:
    return round(len(plain_text(lesson.body)) * 60 / READING_CHARS_PER_MINUTE)


def _reading_estimate():
    # The learning feature estimates reading time (documents by their pages); until that module
    # exists the plain text of the lesson is read at 300 characters a minute.
    try:
        from lms.learning.reading import reading_seconds
    except ImportError:
        return _fallback_reading_seconds
    return reading_seconds


def measure_course(course: Course) -> Measured:
    """Total video length and reading time of *course*'s lessons (required and optional)."""
    reading = _reading_estimate()
    video_s = reading_s = videos = texts = 0
    for lesson in course.lessons:
        if lesson.kind is LessonKind.VIDEO:
            video_s += round(lesson.duration_s or 0)
            videos += 1
        else:
            reading_s += int(reading(lesson) or 0)
            texts += 1
    return Measured(
        video_s=video_s, reading_s=reading_s, video_lessons=videos, reading_lessons=texts
    )


def certify_course_hours(
    registrar: User, course: Course, *, hours, reason: str | None = None
) -> list[LedgerEntry]:
    """Certify *course*'s 学时 (the rules are the courses feature's), then credit every resident
    who has already completed it, once each (``outcome:<id>`` keys: a re-run posts nothing
    more). Returns the entries posted for those earlier completions."""
    measured = measure_course(course)
    courses.certify_course_hours(
        registrar,
        course,
        hours=hours,
        measured_hours=measured.exact_hours,
        measured=measured.as_detail(),
        reason=reason,
    )
    completed = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.course_id == course.id, Enrolment.completed_at.is_not(None))
        .order_by(Enrolment.completed_at, Enrolment.id)
    )
    entries = []
    for enrolment in completed:
        entry = record_course_completion(enrolment)
        if entry is not None:
            entries.append(entry)
    return entries

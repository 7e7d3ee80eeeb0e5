"""Learning records: enrolments (one row per resident and course; withdrawing keeps the row),
playback visits and the per-lesson progress that the server decides."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User
from lms.core.models import intpk, utc_datetime
from lms.core.time import utcnow
from lms.courses.models import Course, Lesson
from lms.extensions import db


class Enrolment(db.Model):
    """A resident taking a course. One row per (user, course); withdrawing keeps the row."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    enrolled_at: Mapped[utc_datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[utc_datetime | None]
    completed_at: Mapped[utc_datetime | None]

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class LessonVisit(db.Model):
    """One playback session of a lesson (a page load of the player)."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    started_at: Mapped[utc_datetime] = mapped_column(default=utcnow)
    last_heartbeat_at: Mapped[utc_datetime | None]
    position_s: Mapped[float] = mapped_column(default=0.0)
    credited_s: Mapped[float] = mapped_column(default=0.0)
    heartbeats: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship()
    lesson: Mapped[Lesson] = relationship()


class LessonProgress(db.Model):
    """What a resident has learnt of a lesson: the merged watched intervals (decided by the
    server), the resume position, when it was opened and completed. ``version`` guards against
    two heartbeats (two tabs) updating it at once."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    intervals: Mapped[list] = mapped_column(JSON, default=list)
    watched_s: Mapped[float] = mapped_column(default=0.0)
    resume_position_s: Mapped[float] = mapped_column(default=0.0)
    opened_at: Mapped[utc_datetime | None]
    last_heartbeat_at: Mapped[utc_datetime | None]
    completed_at: Mapped[utc_datetime | None]
    # The watch-time bucket (law 4): seconds of new coverage that may still be credited, as of
    # ``budget_at``; it refills at the fastest playback rate up to a small capacity.
    budget_s: Mapped[float] = mapped_column(default=0.0)
    budget_at: Mapped[utc_datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    user: Mapped[User] = relationship()
    lesson: Mapped[Lesson] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)
    __mapper_args__ = {"version_id_col": version}

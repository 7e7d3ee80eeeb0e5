"""Learning records: enrolments (one row per resident and course; withdrawing keeps the row)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User
from lms.core.models import intpk, utc_datetime
from lms.core.time import utcnow
from lms.courses.models import Course
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

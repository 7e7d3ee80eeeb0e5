"""Courses: categories, courses with their teachers, ordered lessons."""

from __future__ import annotations

import enum
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import OrgUnit, User
from lms.core.models import CreatedMixin, hours, intpk, str40, str200, str_enum, utc_datetime
from lms.extensions import db


class CourseStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return str(
            {"draft": _l("草稿"), "published": _l("已发布"), "archived": _l("已归档")}[self.value]
        )


class LessonKind(enum.StrEnum):
    TEXT = "text"
    VIDEO = "video"
    DOCUMENT = "document"

    @property
    def label(self) -> str:
        return str({"text": _l("图文"), "video": _l("视频"), "document": _l("文档")}[self.value])


class Category(db.Model):
    """A community-education category (法制教育, 健康养生 …), kept by county administrators."""

    id: Mapped[intpk]
    name: Mapped[str40] = mapped_column(unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


course_teacher = Table(
    "course_teacher",
    db.metadata,
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id"), primary_key=True),
)


class Course(CreatedMixin, db.Model):
    id: Mapped[intpk]
    title: Mapped[str200]
    summary: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    status: Mapped[CourseStatus] = mapped_column(
        str_enum(CourseStatus), default=CourseStatus.DRAFT, index=True
    )
    hours: Mapped[hours]
    completion_threshold: Mapped[int] = mapped_column(default=90)
    is_open: Mapped[bool] = mapped_column(default=False)
    cover: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[utc_datetime | None]
    enrolment_count: Mapped[int] = mapped_column(default=0)
    # The declared 学时 are a claim; credits are earned on the hours a registrar certified
    # against what the course contains (课程学时认定). None: not certified yet (学时待认定).
    certified_hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    hours_certified_at: Mapped[utc_datetime | None]
    hours_certified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    hours_certification_reason: Mapped[str | None] = mapped_column(Text)

    category: Mapped[Category] = relationship()
    provider: Mapped[OrgUnit] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    hours_certified_by: Mapped[User | None] = relationship(foreign_keys=[hours_certified_by_id])
    teachers: Mapped[list[User]] = relationship(secondary=course_teacher, order_by=User.id)
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="Lesson.position", cascade="all, delete-orphan"
    )


class Lesson(CreatedMixin, db.Model):
    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str200]
    kind: Mapped[LessonKind] = mapped_column(str_enum(LessonKind), default=LessonKind.TEXT)
    body: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=True)
    duration_s: Mapped[int | None]

    course: Mapped[Course] = relationship(back_populates="lessons")

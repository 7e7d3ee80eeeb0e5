"""课程学时认定 under /api/v1: registrars list the courses awaiting certification in their scope
and certify a course's 学时 (API.md: ``POST /courses/{id}/hours/certify``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from lms.core.api import Schema, endpoint
from lms.courses.models import Course
from lms.credits import access, api_bp, operations
from lms.credits.api.accounts import credits_number
from lms.extensions import db


class MeasuredOut(BaseModel):
    video_s: int = Field(description="视频课时总时长（秒）")
    reading_s: int = Field(description="图文和文档课时的阅读时间估计（秒）")
    hours: float = Field(description="实测学时（两者之和，保留一位小数）")


class Person(BaseModel):
    id: int
    name: str


class CourseHoursOut(BaseModel):
    id: int
    title: str
    provider: str
    hours: float = Field(description="申报学时")
    certified_hours: float | None = Field(description="认定学时；未认定为 null")
    hours_status: Literal["certified", "pending"]
    hours_certified_at: datetime | None
    hours_certified_by: Person | None
    hours_certification_reason: str | None
    credits: float | None = Field(description="按现行规则折算的学分；学时未认定为 null")
    measured: MeasuredOut
    credited: int | None = Field(None, description="认定时随即记入学分的已学完居民人数")


class CourseHoursList(BaseModel):
    items: list[CourseHoursOut]


class CertifyHoursIn(Schema):
    hours: Decimal = Field(description="认定学时：大于 0，不超过 999.9，最多一位小数")
    reason: str | None = Field(
        None, max_length=2000, description="理由；认定学时超过实测内容加允许幅度时必填"
    )


class HoursQuery(Schema):
    status: Literal["pending", "certified"] = "pending"


def course_hours_out(course: Course, *, credited: int | None = None) -> dict:
    measured = operations.measure_course(course)
    by = course.hours_certified_by
    return CourseHoursOut(
        id=course.id,
        title=course.title,
        provider=course.provider.name,
        hours=float(course.hours),
        certified_hours=credits_number(course.certified_hours),
        hours_status="pending" if course.certified_hours is None else "certified",
        hours_certified_at=course.hours_certified_at,
        hours_certified_by=Person(id=by.id, name=by.name) if by else None,
        hours_certification_reason=course.hours_certification_reason,
        credits=credits_number(operations.credits_for_course(course)),
        measured=MeasuredOut(
            video_s=measured.video_s, reading_s=measured.reading_s, hours=float(measured.hours)
        ),
        credited=credited,
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/course-hours",
    "GET",
    summary="专员：辖区内学时待认定（或已认定）的课程，附实测内容",
    query=HoursQuery,
    response=CourseHoursList,
)
def course_hours(query: HoursQuery):
    access.require_registrar(current_user)
    rows = access.courses_for_hours(current_user, certified=query.status == "certified")
    return {"items": [course_hours_out(course) for course in rows]}


@endpoint(
    api_bp,
    "/courses/<int:course_id>/hours/certify",
    "POST",
    summary="专员：认定课程学时（已学完的居民随即获得学分）",
    body=CertifyHoursIn,
    response=CourseHoursOut,
)
def certify_course_hours(course_id: int, body: CertifyHoursIn):
    course = access.get_course_for_hours_or_404(course_id, current_user)
    entries = operations.certify_course_hours(
        current_user, course, hours=body.hours, reason=body.reason
    )
    db.session.commit()
    return course_hours_out(course, credited=len(entries))

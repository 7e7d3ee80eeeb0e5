"""JSON views of learning under /api/v1."""

from __future__ import annotations

from datetime import datetime

from flask_login import current_user
from pydantic import BaseModel

from lms.core.api import endpoint, not_found
from lms.courses import access as courses_access
from lms.courses.models import Course
from lms.extensions import db
from lms.learning import api_bp, operations


class EnrolmentOut(BaseModel):
    course_id: int
    enrolled_at: datetime
    completed_at: datetime | None


def _course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not courses_access.can_view_course(current_user, course):
        raise not_found()
    return course


@endpoint(
    api_bp,
    "/courses/<int:course_id>/enrolment",
    "PUT",
    summary="报名课程（重复报名返回已有报名）",
    response=EnrolmentOut,
    status=201,
)
def put_enrolment(course_id: int):
    enrolment, new = operations.enrol(current_user, _course(course_id))
    db.session.commit()
    out = EnrolmentOut(
        course_id=enrolment.course_id,
        enrolled_at=enrolment.enrolled_at,
        completed_at=enrolment.completed_at,
    ).model_dump(mode="json")
    return out, 201 if new else 200


@endpoint(api_bp, "/courses/<int:course_id>/enrolment", "DELETE", summary="退出课程", status=204)
def delete_enrolment(course_id: int):
    operations.withdraw(current_user, _course(course_id))
    db.session.commit()
    return "", 204

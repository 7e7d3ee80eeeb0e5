"""JSON views of learning under /api/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy.orm.exc import StaleDataError

from lms.core.api import ApiError, Id, Schema, endpoint, not_found
from lms.courses import access as courses_access
from lms.courses.api import course_or_error
from lms.courses.models import Lesson
from lms.extensions import db
from lms.learning import access, api_bp, operations, watch
from lms.learning.models import LessonProgress
from lms.media import access as media_access
from lms.media.serializers import MediaOut, media_out


class EnrolmentOut(BaseModel):
    course_id: int
    enrolled_at: datetime
    completed_at: datetime | None


@endpoint(
    api_bp,
    "/courses/<int:course_id>/enrolment",
    "PUT",
    summary="报名课程（重复报名返回已有报名）",
    response=EnrolmentOut,
    status=201,
)
def put_enrolment(course_id: int):
    enrolment, new = operations.enrol(current_user, course_or_error(course_id))
    db.session.commit()
    out = EnrolmentOut(
        course_id=enrolment.course_id,
        enrolled_at=enrolment.enrolled_at,
        completed_at=enrolment.completed_at,
    ).model_dump(mode="json")
    return out, 201 if new else 200


@endpoint(api_bp, "/courses/<int:course_id>/enrolment", "DELETE", summary="退出课程", status=204)
def delete_enrolment(course_id: int):
    operations.withdraw(current_user, course_or_error(course_id))
    db.session.commit()
    return "", 204


class ProgressOut(BaseModel):
    watched_s: float
    watched_ratio: float
    completed: bool
    resume_position_s: float


class LessonDetail(BaseModel):
    id: int
    course_id: int
    title: str
    kind: str
    duration_s: int | None
    required: bool
    body: str
    media: MediaOut | None
    captions_url: str | None
    progress: ProgressOut | None


class VisitOut(BaseModel):
    visit_id: int


class HeartbeatIn(Schema):
    visit_id: Id
    position_s: float = Field(ge=0, allow_inf_nan=False)
    segments: list[Any] = Field(max_length=watch.MAX_SEGMENTS)
    rate: float = Field(1.0, gt=0, le=16, allow_inf_nan=False)


def progress_out(lesson: Lesson, progress: LessonProgress | None) -> ProgressOut | None:
    if progress is None:
        return None
    duration = lesson.duration_s or 0
    ratio = (
        min(1.0, progress.watched_s / duration)
        if duration
        else (1.0 if progress.completed_at else 0.0)
    )
    return ProgressOut(
        watched_s=progress.watched_s,
        watched_ratio=round(ratio, 4),
        completed=progress.completed_at is not None,
        resume_position_s=progress.resume_position_s,
    )


def _lesson(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not courses_access.can_view_course(current_user, lesson.course):
        raise not_found()
    return lesson


def _studying(lesson_id: int) -> Lesson:
    lesson = _lesson(lesson_id)
    if not access.can_study(current_user, lesson):
        raise ApiError(403, "forbidden", _("请先报名这门课程再开始学习"))
    return lesson


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>",
    "GET",
    summary="课时内容、播放地址和学习进度",
    response=LessonDetail,
    auth=False,
)
def get_lesson(lesson_id: int):
    lesson = _studying(lesson_id)
    progress = None
    if current_user.is_authenticated:
        progress = operations.open_lesson(current_user, lesson)
        db.session.commit()
    link = media_access.lesson_media(lesson)
    return LessonDetail(
        id=lesson.id,
        course_id=lesson.course_id,
        title=lesson.title,
        kind=lesson.kind.value,
        duration_s=lesson.duration_s,
        required=lesson.required,
        body=lesson.body,
        media=media_out(link.asset) if link else None,
        captions_url=url_for("media.captions", lesson_id=lesson.id)
        if link and link.captions_path
        else None,
        progress=progress_out(lesson, progress),
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>/visits",
    "POST",
    summary="开始一次播放（返回 visit_id）",
    response=VisitOut,
    status=201,
)
def create_visit(lesson_id: int):
    visit = operations.start_visit(current_user, _studying(lesson_id))
    db.session.commit()
    return {"visit_id": visit.id}, 201


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>/progress",
    "POST",
    summary="播放心跳：上报播放过的区间，由服务器决定计入多少观看时长",
    body=HeartbeatIn,
    response=ProgressOut,
)
def post_progress(lesson_id: int, body: HeartbeatIn):
    lesson = _studying(lesson_id)
    for attempt in range(3):
        visit = operations.find_visit(current_user, lesson, body.visit_id)
        if visit is None:
            raise not_found()
        try:
            progress = operations.record_heartbeat(
                current_user, lesson, visit, position_s=body.position_s, segments=body.segments
            )
            db.session.commit()
        except StaleDataError:
            # Another tab's heartbeat updated the same progress first: redo on fresh data.
            db.session.rollback()
            if attempt == 2:
                raise ApiError(409, "conflict", _("请稍后再试")) from None
            continue
        return progress_out(lesson, progress).model_dump(mode="json")
    raise AssertionError("unreachable")


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>/completion",
    "POST",
    summary="标记图文或文档课时已学完（需先打开过）",
    response=ProgressOut,
)
def post_completion(lesson_id: int):
    lesson = _studying(lesson_id)
    progress = operations.mark_learnt(current_user, lesson)
    db.session.commit()
    return progress_out(lesson, progress).model_dump(mode="json")

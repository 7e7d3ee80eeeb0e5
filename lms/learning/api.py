"""JSON views of learning under /api/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_login import current_user
from pydantic import BaseModel, Field

from lms.core.api import Id, Schema, endpoint, not_found
from lms.extensions import db
from lms.learning import access, api_bp, beats, operations, watch
from lms.learning.serializers import (
    HeartbeatOut,
    LessonDetail,
    ProgressOut,
    heartbeat_out,
    lesson_detail,
    progress_out,
)


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
    responses={200: EnrolmentOut},  # already enrolled: the existing enrolment
)
def put_enrolment(course_id: int):
    enrolment, new = operations.enrol(
        current_user, access.get_course_for_enrolment_or_404(course_id)
    )
    db.session.commit()
    out = EnrolmentOut(
        course_id=enrolment.course_id,
        enrolled_at=enrolment.enrolled_at,
        completed_at=enrolment.completed_at,
    ).model_dump(mode="json")
    return out, 201 if new else 200


@endpoint(api_bp, "/courses/<int:course_id>/enrolment", "DELETE", summary="退出课程", status=204)
def delete_enrolment(course_id: int):
    operations.withdraw(current_user, access.get_course_for_enrolment_or_404(course_id))
    db.session.commit()
    return "", 204


class VisitOut(BaseModel):
    visit_id: int
    visit_key: str = Field(
        description="这次播放的心跳凭据：网页播放器随心跳以 X-Visit-Key 请求头发送（代替 Cookie）"
    )


class HeartbeatIn(Schema):
    visit_id: Id
    position_s: float = Field(ge=0, allow_inf_nan=False)
    segments: list[Any] = Field(max_length=watch.MAX_SEGMENTS)
    # The fastest playback rate since the previous heartbeat; its range is the operation's rule.
    rate: float = Field(1.0, allow_inf_nan=False)


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>",
    "GET",
    summary="课时内容、播放地址和学习进度",
    response=LessonDetail,
    auth=False,
)
def get_lesson(lesson_id: int):
    lesson = access.get_lesson_or_404(lesson_id, to_study=True)
    progress = None
    if current_user.is_authenticated:
        progress = operations.open_lesson(current_user, lesson)
        db.session.commit()
    return lesson_detail(lesson, progress).model_dump(mode="json")


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>/visits",
    "POST",
    summary="开始一次播放（返回 visit_id）",
    response=VisitOut,
    status=201,
)
def create_visit(lesson_id: int):
    visit = operations.start_visit(current_user, access.get_lesson_or_404(lesson_id, to_study=True))
    db.session.commit()
    key = beats.visit_key(
        current_app.config["SECRET_KEY"], visit.id, current_user.id, current_user.session_nonce
    )
    return {"visit_id": visit.id, "visit_key": key}, 201


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>/progress",
    "POST",
    summary="播放心跳：上报播放过的区间，由服务器决定计入多少观看时长",
    body=HeartbeatIn,
    response=HeartbeatOut,
)
def post_progress(lesson_id: int, body: HeartbeatIn):
    # The busiest write of the site: whether the resident may record progress (enrolled) is
    # the operation's rule, read with the lesson, the progress and the visit in one statement.
    # Only a draft course's lesson (or none) needs the courses' visibility rule (404 or not).
    beat = None
    for drafts in (False, True):
        beat = operations.heartbeat(
            current_user,
            lesson_id,
            visit_id=body.visit_id,
            position_s=body.position_s,
            segments=body.segments,
            rate=body.rate,
            drafts=drafts,
        )
        if beat is not None:
            break
        access.get_lesson_or_404(lesson_id)
    if beat is None:  # deleted between the two reads
        raise not_found()
    db.session.commit()
    return heartbeat_out(beat)


@endpoint(
    api_bp,
    "/lessons/<int:lesson_id>/completion",
    "POST",
    summary="标记图文或文档课时已学完（需打开够阅读时间；重复标记返回原结果）",
    response=ProgressOut,
)
def post_completion(lesson_id: int):
    lesson = access.get_lesson_or_404(lesson_id, to_study=True)
    progress = operations.mark_learnt(current_user, lesson)
    db.session.commit()
    return progress_out(lesson, progress).model_dump(mode="json")

"""JSON views of courses under /api/v1."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from lms.accounts.models import OrgUnit
from lms.core.api import ApiError, Id, Page, Schema, endpoint, multipart_form
from lms.core.errors import field_error
from lms.core.models import MAX_ID
from lms.core.paging import paginate
from lms.courses import access, api_bp, operations
from lms.courses.catalogue import catalogue_query, course_credits, enrolled_course_ids
from lms.courses.content import human_size
from lms.courses.models import Category, Course
from lms.extensions import db


class CourseQuery(Page):
    q: str = Field("", max_length=100)
    category: str | None = Field(None, max_length=40, description="分类名称或编号")
    org_unit_id: Id | None = None
    order: str = Field("newest", pattern="^(newest|popular)$")


class CourseIn(Schema):
    title: str = Field(max_length=400)
    summary: str = Field("", max_length=40000)
    category: str | int = Field(description="分类名称或编号")
    hours: Decimal = Field(description="学时，保留一位小数")
    is_open: bool = Field(False, description="公开课（无需登录即可学习）")


class Ref(BaseModel):
    id: int
    name: str


class CourseSummary(BaseModel):
    id: int
    title: str
    category: str
    category_id: int
    hours: float = Field(description="申报学时")
    certified_hours: float | None = Field(description="认定学时；学时待认定时为 null")
    hours_status: Literal["certified", "pending"] = Field(
        description="certified：学时已认定；pending：学时待认定（学完暂不计学分）"
    )
    credits: float | None = Field(description="按学分银行现行规则折算的学分；学时待认定时为 null")
    provider: Ref
    lesson_count: int
    enrolled: bool
    status: str
    cover_url: str | None
    published_at: datetime | None


class CourseList(BaseModel):
    items: list[CourseSummary]
    total: int
    page: int
    per_page: int


class LessonOut(BaseModel):
    id: int
    title: str
    kind: str
    duration_s: int | None
    required: bool


class CourseDetail(CourseSummary):
    summary: str
    teachers: list[Ref]
    lessons: list[LessonOut]


def _category(value: str | int | None) -> Category | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) or str(value).isdigit():
        category = db.session.get(Category, int(value)) if 0 < int(value) <= MAX_ID else None
    else:
        category = db.session.scalar(select(Category).filter_by(name=str(value).strip()))
    if category is None:
        raise field_error("category", _("没有这个课程分类"))
    return category


def summary_out(course: Course, enrolled: set[int]) -> CourseSummary:
    credits = course_credits(course)
    return CourseSummary(
        id=course.id,
        title=course.title,
        category=course.category.name,
        category_id=course.category_id,
        hours=float(course.hours),
        certified_hours=None if course.certified_hours is None else float(course.certified_hours),
        hours_status="pending" if course.certified_hours is None else "certified",
        credits=None if credits is None else float(credits),
        provider=Ref(id=course.provider.id, name=course.provider.name),
        lesson_count=len(course.lessons),
        enrolled=course.id in enrolled,
        status=course.status.value,
        cover_url=url_for("courses.cover", name=course.cover.rsplit("/", 1)[-1])
        if course.cover
        else None,
        published_at=course.published_at,
    )


def detail_out(course: Course) -> dict:
    enrolled = enrolled_course_ids(current_user, [course.id])
    summary = summary_out(course, enrolled)
    return CourseDetail(
        **summary.model_dump(),
        summary=course.summary,
        teachers=[Ref(id=teacher.id, name=teacher.name) for teacher in course.teachers],
        lessons=[
            LessonOut(
                id=lesson.id,
                title=lesson.title,
                kind=lesson.kind.value,
                duration_s=lesson.duration_s,
                required=lesson.required,
            )
            for lesson in course.lessons
        ],
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/courses",
    "GET",
    summary="课程目录（已发布课程）",
    query=CourseQuery,
    response=CourseList,
    auth=False,
)
def list_courses(query: CourseQuery):
    org_unit = None
    if query.org_unit_id is not None:
        org_unit = db.session.get(OrgUnit, query.org_unit_id)
        if org_unit is None:
            raise ApiError(
                422, "validation_error", _("没有这个单位"), {"org_unit_id": [_("没有这个单位")]}
            )
    category = _category(query.category)
    paged = paginate(
        catalogue_query(
            q=query.q.strip(),
            category_id=category.id if category else None,
            org_unit=org_unit,
            order=query.order,
        ),
        page=query.page,
        per_page=query.per_page,
    )
    enrolled = enrolled_course_ids(current_user, [course.id for course in paged.items])
    return CourseList(
        items=[summary_out(course, enrolled) for course in paged.items],
        total=paged.total,
        page=paged.page,
        per_page=paged.per_page,
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/courses",
    "POST",
    summary="教师创建课程（草稿）",
    body=CourseIn,
    response=CourseDetail,
    status=201,
)
def create_course(body: CourseIn):
    access.ensure_can_create_course(current_user)
    course = operations.create_course(
        current_user,
        title=body.title,
        summary=body.summary,
        category=_category(body.category),
        hours=body.hours,
        is_open=body.is_open,
    )
    db.session.commit()
    return detail_out(course), 201


@endpoint(
    api_bp,
    "/courses/<int:course_id>",
    "GET",
    summary="课程详情与课时列表",
    response=CourseDetail,
    auth=False,
)
def get_course(course_id: int):
    return detail_out(access.get_course_or_404(course_id, current_user))


@endpoint(
    api_bp,
    "/courses/<int:course_id>/publish",
    "POST",
    summary="发布课程（任课教师或本单位管理员）",
    response=CourseDetail,
)
def publish_course(course_id: int):
    course = access.get_course_or_404(course_id, current_user, for_edit=True)
    operations.publish_course(course)
    db.session.commit()
    return detail_out(course)


class PictureOut(BaseModel):
    url: str = Field(description="图片地址，用在课时正文的 <img src>")
    width: int
    height: int


@endpoint(
    api_bp,
    "/courses/<int:course_id>/pictures",
    "POST",
    summary="上传课时正文里的图片（任课教师；JPG、PNG、WEBP 或 GIF，5 MB 以内，缩小到适合页面）",
    response=PictureOut,
    status=201,
    multipart={"picture": "图片文件"},
)
def upload_picture(course_id: int):
    course = access.get_course_or_404(course_id, current_user, for_edit=True)
    limit = current_app.config["LMS_COVER_MAX_BYTES"]
    too_large = _("图片不能超过 %(size)s", size=human_size(limit))
    # A far larger body is refused before it is read (not only once 5 MB of it are in).
    if (request.content_length or 0) > limit + 64 * 1024:
        raise ApiError(413, "too_large", too_large, {"picture": [too_large]})
    request.max_content_length = limit + 64 * 1024
    try:
        files = request.files
        multipart_form()
    except RequestEntityTooLarge:
        raise ApiError(413, "too_large", too_large, {"picture": [too_large]}) from None
    picture = files.get("picture")
    if picture is None or not picture.filename:
        message = _("请选择一张图片")
        raise ApiError(422, "validation_error", message, {"picture": [message]})
    relative, width, height = operations.add_picture(course, picture.stream)
    db.session.commit()
    name = relative.rsplit("/", 1)[-1]
    url = url_for("courses.picture", name=name)
    return PictureOut(url=url, width=width, height=height).model_dump(mode="json"), 201

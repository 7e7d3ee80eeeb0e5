"""Who may upload, and who may fetch which media."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.models import User
from lms.core.time import utcnow
from lms.courses import access as courses_access
from lms.courses.models import Course, CourseStatus, Lesson
from lms.extensions import db
from lms.media.models import LessonMedia, Material, MediaAsset, Upload


def can_upload(user: User) -> bool:
    return user.is_authenticated and (
        courses_access.can_create_course(user) or courses_access.accounts_access.is_admin(user)
    )


def ensure_can_upload(user: User) -> None:
    """Refuse (403, saying why) anyone who may not upload video."""
    if not can_upload(user):
        abort(403, _("只有教师和管理员可以上传视频"))


def courses_playing(asset: MediaAsset) -> list[Course]:
    return list(
        db.session.scalars(
            select(Course)
            .join(Lesson, Lesson.course_id == Course.id)
            .join(LessonMedia, LessonMedia.lesson_id == Lesson.id)
            .where(LessonMedia.asset_id == asset.id)
            .distinct()
        )
    )


def can_manage_asset(user: User, asset: MediaAsset) -> bool:
    """Its owner and whoever may edit a course that plays it."""
    if not user.is_authenticated:
        return False
    return asset.owner_id == user.id or any(
        courses_access.can_edit_course(user, course) for course in courses_playing(asset)
    )


def can_fetch(user: User, asset: MediaAsset) -> bool:
    """Renditions of unpublished courses only for their teachers and administrators; a
    published (or archived) course's media for signed-in users, or anyone if the course is open."""
    if can_manage_asset(user, asset):
        return True
    for course in courses_playing(asset):
        if course.status is not CourseStatus.DRAFT and (course.is_open or user.is_authenticated):
            return True
    return False


def get_asset_or_404(asset_id: int, user: User, *, manage: bool = False) -> MediaAsset:
    asset = db.session.get(MediaAsset, asset_id)
    allowed = asset is not None and (
        can_manage_asset(user, asset) if manage else can_fetch(user, asset)
    )
    if not allowed:
        abort(404)
    return asset


def asset_for_lesson(asset_id: int, user: User) -> MediaAsset | None:
    """The asset *user* may put in a lesson (one they manage), or None: a form field names it,
    so the caller answers with a validation message rather than 404."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or not can_manage_asset(user, asset):
        return None
    return asset


def get_upload_or_404(token: str, user: User) -> Upload:
    upload = db.session.scalar(select(Upload).filter_by(token=token))
    if (
        upload is None
        or not user.is_authenticated
        or upload.owner_id != user.id
        or upload.expires_at <= utcnow()
    ):
        abort(404)
    return upload


def lesson_media(lesson: Lesson) -> LessonMedia | None:
    return db.session.get(LessonMedia, lesson.id)


def can_download(user: User, material: Material) -> bool:
    """Like renditions: a draft course's documents for its editors; a published one's for
    signed-in users, or anyone when the course is open."""
    course = material.course
    if courses_access.can_edit_course(user, course):
        return True
    return course.status is not CourseStatus.DRAFT and (course.is_open or user.is_authenticated)


def get_material_or_404(material_id: int, user: User, *, manage: bool = False) -> Material:
    material = db.session.get(Material, material_id)
    if material is None:
        abort(404)
    allowed = (
        courses_access.can_edit_course(user, material.course)
        if manage
        else can_download(user, material)
    )
    if not allowed:
        abort(404)
    return material


def course_materials(course: Course) -> list[Material]:
    """The course's own documents (not those that are document lessons)."""
    return list(
        db.session.scalars(
            select(Material)
            .where(Material.course_id == course.id, Material.lesson_id.is_(None))
            .order_by(Material.id)
        )
    )


def lesson_document(lesson: Lesson) -> Material | None:
    return db.session.scalar(select(Material).where(Material.lesson_id == lesson.id))

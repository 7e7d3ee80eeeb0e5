"""What courses are made of here: video lessons (with captions), course documents and document
lessons."""

from __future__ import annotations

import os
import secrets
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.core import signals, storage
from lms.core.errors import field_error
from lms.core.jobs import after_commit
from lms.core.tasks import delete_media_file
from lms.courses import operations as courses
from lms.courses.models import Course, Lesson, LessonKind
from lms.extensions import db
from lms.media import documents
from lms.media.models import LessonMedia, Material, MediaAsset
from lms.media.operations.uploads import clean_filename, save_limited

# Video lessons ------------------------------------------------------------------------------


def add_video_lesson(
    course: Course,
    *,
    title: str,
    asset: MediaAsset,
    required: bool = True,
    captions: BinaryIO | None = None,
) -> Lesson:
    lesson = courses.add_lesson(
        course,
        title=title,
        kind=LessonKind.VIDEO,
        required=required,
        duration_s=round(asset.duration_s) if asset.duration_s else None,
    )
    link = LessonMedia(lesson=lesson, asset=asset)
    db.session.add(link)
    db.session.flush()
    if captions is not None:
        set_captions(link, captions)
    db.session.flush()
    return lesson


def set_captions(link: LessonMedia, stream: BinaryIO) -> None:
    """Store a WebVTT captions file for the lesson (checked: UTF-8 text starting with WEBVTT)."""
    limit = current_app.config["LMS_CAPTIONS_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise field_error("captions", _("字幕文件太大"), status=413)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise field_error("captions", _("字幕文件必须是 UTF-8 编码的 WebVTT 文件")) from None
    if not text.startswith("WEBVTT"):
        raise field_error("captions", _("字幕文件必须是 WebVTT（.vtt）格式"))
    relative = f"captions/{link.lesson_id}-{secrets.token_hex(6)}.vtt"
    storage.write_atomically(storage.media_path(relative), text.encode("utf-8"))
    storage.discard_on_rollback(db.session, relative)
    if link.captions_path:
        after_commit(db.session, delete_media_file, link.captions_path)
    link.captions_path = relative


# Documents ----------------------------------------------------------------------------------


def add_material(
    course: Course, owner: User, *, filename: str, stream: BinaryIO, lesson: Lesson | None = None
) -> Material:
    """Attach a document to *course* (or to a document *lesson*): streamed to a temporary name,
    checked by content and size, then renamed into place; refused files leave nothing."""
    courses.ensure_editable(course)
    limit = current_app.config["LMS_DOCUMENT_MAX_BYTES"]
    name = clean_filename(filename)
    folder = storage.media_path("documents")
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / f".{secrets.token_hex(12)}.part"
    try:
        size = save_limited(
            stream, draft, limit=limit, too_big=_("文件太大，最大 %(n)s MB", n=limit // 1024**2)
        )
        if size == 0:
            raise field_error("file", _("文件是空的"))
        try:
            kind = documents.kind_of(draft, name)
        except documents.NotADocument:
            raise field_error(
                "file",
                _(
                    "只能上传 PDF、Word（.docx）、PowerPoint（.pptx）或 Excel（.xlsx）文件，"
                    "并且内容要与文件名相符"
                ),
                status=415,
            ) from None
        if kind == "pdf" and documents.has_active_content(draft):
            raise field_error(
                "file", _("这个 PDF 含有脚本或自动执行的动作，为了安全不能上传"), status=422
            )
        pages = documents.count_pages(draft, kind)
        relative = f"documents/{secrets.token_hex(16)}.{kind}"
        os.replace(draft, storage.media_path(relative))
    finally:
        draft.unlink(missing_ok=True)
    storage.discard_on_rollback(db.session, relative)
    material = Material(
        course=course,
        lesson=lesson,
        owner=owner,
        filename=name,
        path=relative,
        kind=kind,
        size_bytes=size,
        pages=pages,
    )
    db.session.add(material)
    db.session.flush()
    signals.course_changed.send(course)
    return material


def add_document_lesson(
    course: Course,
    owner: User,
    *,
    title: str,
    filename: str,
    stream: BinaryIO,
    required: bool = True,
) -> Lesson:
    lesson = courses.add_lesson(course, title=title, kind=LessonKind.DOCUMENT, required=required)
    add_material(course, owner, filename=filename, stream=stream, lesson=lesson)
    return lesson


def delete_material(material: Material) -> None:
    courses.ensure_editable(material.course)
    after_commit(db.session, delete_media_file, material.path)
    course = material.course
    db.session.delete(material)
    db.session.flush()
    signals.course_changed.send(course)

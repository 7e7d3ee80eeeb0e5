"""Every write of the media feature: resumable uploads, assets, transcoding state, video lessons.

Bytes are streamed to disk in chunks, never held whole; they gather under a generated name and
are renamed into place; a refused upload leaves neither a file nor a row (law 5). Every file is
probed before it is accepted (law 6). Transcoding runs in the worker after commit (law 2)."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import PurePath
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected

from lms.accounts.models import User
from lms.core import signals, storage
from lms.core.errors import Conflict, OperationError, field_error
from lms.core.jobs import after_commit, on_rollback
from lms.core.tasks import delete_media_file
from lms.core.time import utcnow
from lms.courses import operations as courses
from lms.courses.models import Course, Lesson, LessonKind
from lms.extensions import db
from lms.media import documents
from lms.media.models import LessonMedia, Material, MediaAsset, MediaStatus, Upload
from lms.media.probe import ProbeError, probe

COPY_BUFFER = 1024 * 1024


def probe_message(error: ProbeError) -> str:
    """A resident-readable reason for refusing a file."""
    minutes = current_app.config["LMS_VIDEO_MAX_DURATION_S"] // 60
    return {
        "empty": _("文件是空的，请重新选择视频"),
        "not_media": _("这不是可以播放的视频文件，请上传 MP4、MOV 等常见格式的视频"),
        "no_video": _("文件里没有视频画面（可能是纯音频或图片）"),
        "too_long": _("视频太长了，最长可以上传 %(n)s 分钟", n=minutes),
        "too_short": _("视频太短了，至少需要 1 秒"),
        "corrupt": _("视频文件已损坏或没有传完整，无法解码，请重新导出后上传"),
    }.get(error.code, _("无法识别这个视频文件"))


def _clean_filename(name: str | None) -> str:
    # Only kept for display and the Content-Disposition of downloads; never used in a path.
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:200] or "video"


# Uploads ------------------------------------------------------------------------------------


def start_upload(owner: User, *, filename: str, size: int) -> Upload:
    """Open a resumable upload of *size* bytes."""
    limit = current_app.config["LMS_UPLOAD_MAX_BYTES"]
    if size <= 0:
        raise field_error("size", _("文件是空的，请重新选择视频"))
    if size > limit:
        raise field_error(
            "size", _("文件太大，最大 %(n)s GB", n=round(limit / 1024**3, 1)), status=413
        )
    upload = Upload(
        token=secrets.token_hex(16),
        owner=owner,
        filename=_clean_filename(filename),
        size=size,
        received=0,
        expires_at=utcnow() + timedelta(seconds=current_app.config["LMS_UPLOAD_TTL_S"]),
    )
    path = storage.media_path(upload.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    on_rollback(db.session, storage.delete_file, upload.path)
    db.session.add(upload)
    db.session.flush()
    return upload


def write_chunk(upload: Upload, *, offset: int, stream: BinaryIO, length: int | None) -> int:
    """Write the bytes of *stream* at *offset*; returns the new offset. The offset must be where
    the upload stands (else 409, with the right offset to resume from). A chunk cut off half-way
    keeps the bytes that arrived, so the client resumes after them."""
    if offset != upload.received:
        raise Conflict(
            _("上传位置不对，请从第 %(n)s 字节继续", n=upload.received),
            fields={"offset": [str(upload.received)]},
        )
    room = upload.size - offset
    if length is not None and length > room:
        raise field_error("size", _("上传的数据超过了声明的文件大小"), status=413)
    written = 0
    path = storage.media_path(upload.path)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        try:
            while True:
                block = stream.read(min(COPY_BUFFER, room - written + 1))
                if not block:
                    break
                if written + len(block) > room:
                    raise field_error("size", _("上传的数据超过了声明的文件大小"), status=413)
                handle.write(block)
                written += len(block)
        except (OSError, ClientDisconnected):
            pass  # the client went away; what arrived is kept and counted
        finally:
            handle.truncate(offset + written)
    upload.received = offset + written
    db.session.flush()
    return upload.received


def cancel_upload(upload: Upload) -> None:
    after_commit(db.session, delete_media_file, upload.path)
    db.session.delete(upload)
    db.session.flush()


def finish_upload(upload: Upload) -> tuple[MediaAsset, bool]:
    """Turn a complete upload into a probed, queued asset. Returns (asset, reused): the same
    bytes uploaded again by the same owner reuse the earlier asset. A refused file takes its
    upload with it (the caller commits that even though it answers with an error)."""
    if upload.received != upload.size:
        raise Conflict(
            _("文件还没有传完（%(got)s / %(size)s 字节）", got=upload.received, size=upload.size)
        )
    try:
        return _accept_file(upload.owner, upload.path, filename=upload.filename, size=upload.size)
    finally:
        db.session.delete(upload)
        db.session.flush()


def save_stream(owner: User, *, filename: str, stream: BinaryIO) -> tuple[MediaAsset, bool]:
    """A whole file in one request (a plain form post): streamed to disk, then accepted."""
    limit = current_app.config["LMS_UPLOAD_MAX_BYTES"]
    relative = f"uploads/{secrets.token_hex(16)}.part"
    path = storage.media_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = _save_limited(
        stream, path, limit=limit, too_big=_("文件太大，最大 %(n)s GB", n=round(limit / 1024**3, 1))
    )
    if size == 0:
        path.unlink(missing_ok=True)
        raise field_error("file", _("文件是空的，请重新选择视频"))
    return _accept_file(owner, relative, filename=_clean_filename(filename), size=size)


def _accept_file(
    owner: User, relative: str, *, filename: str, size: int
) -> tuple[MediaAsset, bool]:
    """Dedupe by SHA-256, probe, and file the bytes at *relative* as a queued asset. Whatever
    happens, nothing is left at *relative* afterwards."""
    path = storage.media_path(relative)
    digest = _sha256(path)
    existing = db.session.scalar(select(MediaAsset).filter_by(owner_id=owner.id, sha256=digest))
    if existing is not None:
        path.unlink(missing_ok=True)
        if existing.status is MediaStatus.FAILED:
            retry_asset(existing)
        return existing, True
    try:
        info = probe(path, max_duration_s=current_app.config["LMS_VIDEO_MAX_DURATION_S"])
    except ProbeError as error:
        path.unlink(missing_ok=True)
        raise Refused(probe_message(error)) from None
    asset = MediaAsset(
        owner=owner,
        sha256=digest,
        original_name=filename,
        original_path="",
        size_bytes=size,
        probe=info.as_dict(),
        duration_s=info.duration_s,
        status=MediaStatus.QUEUED,
        progress=0,
    )
    db.session.add(asset)
    db.session.flush()
    asset.original_path = f"originals/{asset.id}/source"
    target = storage.media_path(asset.original_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    on_rollback(db.session, storage.delete_file, asset.original_path)
    _enqueue(asset)
    return asset, False


class Refused(OperationError):
    """The file is not a usable video (its bytes are already gone)."""

    status = 422
    code = "unsupported_media"

    def __init__(self, message: str):
        super().__init__(message, fields={"file": [message]})


def _save_limited(stream: BinaryIO, path, *, limit: int, too_big: str) -> int:
    """Stream *stream* into *path* in blocks, refusing (413) past *limit* bytes; on any failure
    the partial file is removed. Returns the size written."""
    size = 0
    try:
        with open(path, "wb") as handle:
            while block := stream.read(COPY_BUFFER):
                size += len(block)
                if size > limit:
                    raise field_error("file", too_big, status=413)
                handle.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return size


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(COPY_BUFFER):
            digest.update(block)
    return digest.hexdigest()


# Transcoding state --------------------------------------------------------------------------


def _enqueue(asset: MediaAsset) -> None:
    from lms.media.tasks import transcode_asset

    asset.heartbeat_at = utcnow()
    after_commit(db.session, transcode_asset, asset.id)


def retry_asset(asset: MediaAsset) -> MediaAsset:
    """Queue a failed (or, for `lms media retranscode`, any) asset for transcoding again."""
    if asset.status in (MediaStatus.QUEUED, MediaStatus.PROCESSING):
        raise Conflict(_("视频正在排队或转码中，请稍候"))
    asset.status, asset.progress, asset.error = MediaStatus.QUEUED, 0, None
    db.session.flush()
    _enqueue(asset)
    return asset


def requeue(asset: MediaAsset) -> None:
    """Send a stalled job again (its worker died); the job itself refuses to run twice at once."""
    asset.status = MediaStatus.QUEUED
    db.session.flush()
    _enqueue(asset)


# Lessons ------------------------------------------------------------------------------------


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
    on_rollback(db.session, storage.delete_file, relative)
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
    name = _clean_filename(filename)
    folder = storage.media_path("documents")
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / f".{secrets.token_hex(12)}.part"
    try:
        size = _save_limited(
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
        relative = f"documents/{secrets.token_hex(16)}.{kind}"
        os.replace(draft, storage.media_path(relative))
    finally:
        draft.unlink(missing_ok=True)
    on_rollback(db.session, storage.delete_file, relative)
    material = Material(
        course=course,
        lesson=lesson,
        owner=owner,
        filename=name,
        path=relative,
        kind=kind,
        size_bytes=size,
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

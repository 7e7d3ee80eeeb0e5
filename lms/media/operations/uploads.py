"""Files coming in: resumable uploads, whole files in one request, and accepting the bytes as a
probed, queued asset.

Bytes are streamed to disk in chunks, never held whole; they gather under a generated name and
are renamed into place; a refused upload leaves neither a file nor a row (law 5). Every file is
probed before it is accepted (law 6)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePath
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from werkzeug.exceptions import ClientDisconnected

from lms.accounts.models import User
from lms.core import storage
from lms.core.errors import Conflict, OperationError, field_error
from lms.core.jobs import after_commit
from lms.core.tasks import delete_media_file
from lms.core.time import utcnow
from lms.extensions import db
from lms.media.models import MediaAsset, MediaStatus, Upload
from lms.media.operations.transcoding import enqueue_transcode, retry_asset
from lms.media.probe import Limits, ProbeError, probe

COPY_BUFFER = 1024 * 1024


def probe_message(error: ProbeError) -> str:
    """A resident-readable reason for refusing a file."""
    minutes = current_app.config["LMS_VIDEO_MAX_DURATION_S"] // 60
    values = error.values
    if error.code == "too_fast":
        return _(
            "视频帧率太高（每秒 %(fps)s 帧），最高支持每秒 %(max)s 帧，请导出为每秒 30 帧后再上传",
            fps=values["fps"],
            max=_number(values["max_fps"]),
        )
    if error.code == "too_large":
        return _(
            "视频画面太大（%(width)s×%(height)s），最大支持 %(max_width)s×%(max_height)s，"
            "请导出为 1080p 后再上传",
            width=values["width"],
            height=values["height"],
            max_width=values["max_width"],
            max_height=values["max_height"],
        )
    if error.code == "too_sparse":
        return _(
            "这个视频长 %(minutes)s 分钟，却只有 %(frames)s 帧画面，文件不正常，请重新导出后上传",
            minutes=_minutes(values["duration_s"]),
            frames=values["frames"],
        )
    if error.code == "too_costly":
        return _(
            "这个文件只有 %(size)s，却长达 %(minutes)s 分钟，转码后会比原文件大得多，"
            "文件不正常，请用手机或电脑重新导出后上传",
            size=_file_size(values["size_bytes"]),
            minutes=_minutes(values["duration_s"]),
        )
    return {
        "empty": _("文件是空的，请重新选择视频"),
        "not_media": _("这不是可以播放的视频文件，请上传 MP4、MOV 等常见格式的视频"),
        "no_video": _("文件里没有视频画面（可能是纯音频或图片）"),
        "too_long": _("视频太长了，最长可以上传 %(n)s 分钟", n=minutes),
        "too_short": _("视频太短了，至少需要 1 秒"),
        "corrupt": _("视频文件已损坏或没有传完整，无法解码，请重新导出后上传"),
    }.get(error.code, _("无法识别这个视频文件"))


def probe_limits() -> Limits:
    """The limits of lms/config.py an upload is probed against."""
    config = current_app.config
    long_side, short_side = config["LMS_VIDEO_MAX_SIZE"]
    return Limits(
        max_fps=float(config["LMS_VIDEO_MAX_FPS"]),
        max_long_side=int(long_side),
        max_short_side=int(short_side),
        min_frames_per_s=float(config["LMS_VIDEO_MIN_FRAMES_PER_S"]),
        max_output_ratio=float(config["LMS_VIDEO_MAX_OUTPUT_RATIO"]),
        output_floor_bytes=int(config["LMS_VIDEO_OUTPUT_FLOOR_BYTES"]),
    )


def _number(value: float) -> str:
    return f"{value:g}"


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


def _file_size(size: int) -> str:
    if size < 1024**2:
        return f"{max(0.1, size / 1024):.1f} KB"
    return f"{size / 1024**2:.1f} MB"


def clean_filename(name: str | None) -> str:
    """The last part of a client's file name, for display and the Content-Disposition of
    downloads only; never used in a path."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:200] or "video"


def save_limited(stream: BinaryIO, path: Path, *, limit: int, too_big: str) -> int:
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


def _too_big_message(limit: int) -> str:
    return _("文件太大，最大 %(n)s GB", n=round(limit / 1024**3, 1))


# Resumable uploads --------------------------------------------------------------------------


def start_upload(owner: User, *, filename: str, size: int) -> Upload:
    """Open a resumable upload of *size* bytes."""
    limit = current_app.config["LMS_UPLOAD_MAX_BYTES"]
    if size <= 0:
        raise field_error("size", _("文件是空的，请重新选择视频"))
    if size > limit:
        raise field_error("size", _too_big_message(limit), status=413)
    upload = Upload(
        token=secrets.token_hex(16),
        owner=owner,
        filename=clean_filename(filename),
        size=size,
        received=0,
        expires_at=utcnow() + timedelta(seconds=current_app.config["LMS_UPLOAD_TTL_S"]),
    )
    path = storage.media_path(upload.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    storage.discard_on_rollback(db.session, upload.path)
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
    """Abandon an upload; its partial file goes after commit."""
    _remove_upload(upload)


def expire_uploads() -> int:
    """Abandoned resumable uploads past their expiry go, rows now and partial files after
    commit. Returns how many."""
    expired = db.session.scalars(select(Upload).where(Upload.expires_at <= utcnow())).all()
    for upload in expired:
        _remove_upload(upload)
    return len(expired)


def _remove_upload(upload: Upload) -> None:
    after_commit(db.session, delete_media_file, upload.path)
    db.session.delete(upload)
    db.session.flush()


@dataclass
class Finished:
    """What became of a complete upload: an *asset* (*reused* when the same owner sent the
    same bytes before), or the *refusal* to answer with. The upload is used up either way."""

    asset: MediaAsset | None = None
    reused: bool = False
    refusal: OperationError | None = None


def finish_upload(upload: Upload) -> Finished:
    """Turn a complete upload into a probed, queued asset. A refused file takes its upload with
    it, so the caller commits a refusal too and answers with it afterwards; an upload that is
    not complete yet raises Conflict and stays."""
    if upload.received != upload.size:
        raise Conflict(
            _("文件还没有传完（%(got)s / %(size)s 字节）", got=upload.received, size=upload.size)
        )
    # One conditional DELETE claims the upload: of two requests finishing it at once (a double
    # tap, a client retry) the second waits for the first and then finds nothing to finish.
    owner, path, filename, size = upload.owner, upload.path, upload.filename, upload.size
    claimed = db.session.execute(
        delete(Upload).where(Upload.id == upload.id).execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict(_("这次上传已经完成"))
    after_commit(db.session, delete_media_file, path)  # what is left at its path
    db.session.expunge(upload)
    try:
        asset, reused = _accept_file(owner, path, filename=filename, size=size)
        finished = Finished(asset=asset, reused=reused)
    except Refused as refusal:
        finished = Finished(refusal=refusal)
    return finished


def save_stream(owner: User, *, filename: str, stream: BinaryIO) -> tuple[MediaAsset, bool]:
    """A whole file in one request (a plain form post): streamed to disk, then accepted.
    Returns (asset, reused)."""
    limit = current_app.config["LMS_UPLOAD_MAX_BYTES"]
    relative = f"uploads/{secrets.token_hex(16)}.part"
    path = storage.media_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = save_limited(stream, path, limit=limit, too_big=_too_big_message(limit))
    if size == 0:
        path.unlink(missing_ok=True)
        raise field_error("file", _("文件是空的，请重新选择视频"))
    storage.discard_on_rollback(db.session, relative)  # a refused file goes with the request
    asset, reused = _accept_file(owner, relative, filename=clean_filename(filename), size=size)
    if reused:
        after_commit(db.session, delete_media_file, relative)
    return asset, reused


def _accept_file(
    owner: User, relative: str, *, filename: str, size: int
) -> tuple[MediaAsset, bool]:
    """Dedupe by SHA-256, probe, and move the bytes at *relative* into place as a queued asset.
    A repeated or refused file is left where it is, for the caller to remove with its request."""
    path = storage.media_path(relative)
    digest = _sha256(path)
    existing = db.session.scalar(select(MediaAsset).filter_by(owner_id=owner.id, sha256=digest))
    if existing is not None:
        if existing.status is MediaStatus.FAILED:
            retry_asset(existing)
        return existing, True
    try:
        info = probe(
            path,
            max_duration_s=current_app.config["LMS_VIDEO_MAX_DURATION_S"],
            limits=probe_limits(),
        )
    except ProbeError as error:
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
    storage.discard_on_rollback(db.session, asset.original_path)
    enqueue_transcode(asset)
    return asset, False


class Refused(OperationError):
    """The file is not a usable video."""

    status = 422
    code = "unsupported_media"

    def __init__(self, message: str):
        super().__init__(message, fields={"file": [message]})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(COPY_BUFFER):
            digest.update(block)
    return digest.hexdigest()

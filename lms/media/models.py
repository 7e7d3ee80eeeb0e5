"""Media: resumable uploads, media assets (probed originals and their renditions), and which
lesson plays which asset."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User
from lms.core.models import CreatedMixin, intpk, str200, str_enum, utc_datetime
from lms.courses.models import Course, Lesson
from lms.extensions import db


class MediaStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(
            {
                "uploaded": _l("已上传"),
                "queued": _l("排队转码"),
                "processing": _l("转码中"),
                "ready": _l("可以播放"),
                "failed": _l("转码失败"),
            }[self.value]
        )


class Upload(CreatedMixin, db.Model):
    """A resumable upload in progress: bytes arrive in chunks at stated offsets."""

    id: Mapped[intpk]
    token: Mapped[str] = mapped_column(String(32), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    filename: Mapped[str200]
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    purpose: Mapped[str] = mapped_column(String(20), default="video")
    expires_at: Mapped[utc_datetime]

    owner: Mapped[User] = relationship()

    @property
    def path(self) -> str:
        """Where the bytes gather, relative to the media folder (never from user input)."""
        return f"uploads/{self.token}.part"


class MediaAsset(CreatedMixin, db.Model):
    """A probed original and, once transcoded, its renditions (HLS ladder, audio-only rung,
    MP4 download, poster). The same file uploaded twice by one owner is one asset."""

    id: Mapped[intpk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str200]
    original_path: Mapped[str200]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    probe: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[MediaStatus] = mapped_column(
        str_enum(MediaStatus), default=MediaStatus.QUEUED, index=True
    )
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None]
    renditions: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[utc_datetime | None]
    ready_at: Mapped[utc_datetime | None]

    owner: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("owner_id", "sha256"),)

    @property
    def folder(self) -> str:
        """The renditions folder, relative to the media folder."""
        return f"renditions/{self.id}"


class LessonMedia(db.Model):
    """The asset a video lesson plays, and the teacher's WebVTT captions if any."""

    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_asset.id"), index=True)
    captions_path: Mapped[str | None] = mapped_column(String(200))

    lesson: Mapped[Lesson] = relationship()
    asset: Mapped[MediaAsset] = relationship()


class Material(CreatedMixin, db.Model):
    """A document (PDF, DOCX, PPTX, XLSX) attached to a course, or the file of a document
    lesson. The name is kept for display and download only; the path is generated."""

    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("lesson.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str200]
    path: Mapped[str200]
    kind: Mapped[str] = mapped_column(String(10))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int | None]  # pages or slides, counted on upload (reading-time estimates)

    course: Mapped[Course] = relationship()
    lesson: Mapped[Lesson | None] = relationship()
    owner: Mapped[User] = relationship()

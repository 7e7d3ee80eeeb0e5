"""The state of an asset's transcode: queued, claimed by a worker, progressing, finished or
failed. The ffmpeg work itself runs in the worker after commit (law 2); the job calls these."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from lms.core.errors import Conflict
from lms.core.jobs import after_commit
from lms.core.time import utcnow
from lms.courses.models import Lesson
from lms.extensions import db
from lms.media.models import LessonMedia, MediaAsset, MediaStatus
from lms.media.transcode import TranscodeResult


def enqueue_transcode(asset: MediaAsset) -> None:
    """Send the transcoding job once the transaction commits."""
    from lms.media.tasks import transcode_asset

    asset.heartbeat_at = utcnow()
    after_commit(db.session, transcode_asset, asset.id)


def retry_asset(asset: MediaAsset) -> MediaAsset:
    """Queue a failed (or, for `lms media retranscode`, any) asset for transcoding again."""
    if asset.status in (MediaStatus.QUEUED, MediaStatus.PROCESSING):
        raise Conflict(_("视频正在排队或转码中，请稍候"))
    asset.status, asset.progress, asset.error = MediaStatus.QUEUED, 0, None
    db.session.flush()
    enqueue_transcode(asset)
    return asset


def requeue_stalled() -> list[int]:
    """Send again every job whose asset has not moved for LMS_TRANSCODE_STALL_S seconds: its
    worker died (or its queue lost it). Returns the ids of the assets sent again; the job
    itself refuses to run twice at once."""
    now = utcnow()
    processing = now - timedelta(seconds=current_app.config["LMS_TRANSCODE_STALL_S"])
    # A queued job may simply wait behind others; only one waiting for hours is presumed lost.
    queued = now - timedelta(seconds=current_app.config["LMS_TRANSCODE_QUEUE_STALL_S"])
    stalled = db.session.scalars(
        select(MediaAsset).where(
            or_(
                (MediaAsset.status == MediaStatus.PROCESSING)
                & (MediaAsset.heartbeat_at < processing),
                (MediaAsset.status == MediaStatus.QUEUED) & (MediaAsset.heartbeat_at < queued),
            )
        )
    ).all()
    for asset in stalled:
        asset.status = MediaStatus.QUEUED
        enqueue_transcode(asset)
    db.session.flush()
    return [asset.id for asset in stalled]


def claim_transcode(asset_id: int) -> MediaAsset | None:
    """Take the job with one conditional UPDATE, so that of two workers handed the same job
    (a job sent again) only one runs it, on any number of machines. Returns the asset, or None
    when it is done, gone, or being transcoded by a live worker. The caller commits at once."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["LMS_TRANSCODE_STALL_S"])
    claimed = db.session.execute(
        update(MediaAsset)
        .where(
            MediaAsset.id == asset_id,
            or_(
                MediaAsset.status == MediaStatus.QUEUED,
                (MediaAsset.status == MediaStatus.PROCESSING) & (MediaAsset.heartbeat_at < stale),
            ),
        )
        .values(
            status=MediaStatus.PROCESSING,
            progress=0,
            error=None,
            heartbeat_at=now,
            attempts=MediaAsset.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    return db.session.get(MediaAsset, asset_id, populate_existing=True)


def record_transcode_progress(
    asset: MediaAsset, percent: float, *, attempt: int | None = None
) -> bool:
    """The worker is alive and *percent* done (shown as at most 99 until the renditions are in
    place). With *attempt* (the ``attempts`` its claim set) nothing is written and False is
    returned when the asset has since been claimed by another worker or left processing."""
    if attempt is not None:
        current = db.session.execute(
            select(MediaAsset.attempts, MediaAsset.status).where(MediaAsset.id == asset.id)
        ).one_or_none()
        if current is None or tuple(current) != (attempt, MediaStatus.PROCESSING):
            return False
    asset.progress = min(99, int(percent))
    asset.heartbeat_at = utcnow()
    db.session.flush()
    return True


def finish_transcode(asset: MediaAsset, result: TranscodeResult) -> None:
    """The renditions are in place: the asset is ready, and the lessons that play it take its
    measured duration."""
    asset.renditions = result.as_dict()
    asset.duration_s = result.duration_s
    asset.status, asset.progress, asset.ready_at = MediaStatus.READY, 100, utcnow()
    for lesson in db.session.scalars(
        select(Lesson)
        .join(LessonMedia, LessonMedia.lesson_id == Lesson.id)
        .where(LessonMedia.asset_id == asset.id)
    ):
        lesson.duration_s = round(result.duration_s)
    db.session.flush()


def fail_transcode(asset: MediaAsset, *, reason: str) -> None:
    """ffmpeg gave up; *reason* is shown to the asset's managers, who may retry."""
    asset.status, asset.error = MediaStatus.FAILED, reason
    db.session.flush()

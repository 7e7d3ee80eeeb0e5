"""Background jobs of the media feature: transcoding, and sending stalled jobs again."""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from datetime import timedelta

from flask import current_app
from huey import crontab
from sqlalchemy import or_, select, update

from lms.core import storage
from lms.core.jobs import app_task, huey
from lms.core.time import utcnow
from lms.courses.models import Lesson
from lms.extensions import db
from lms.media.models import LessonMedia, MediaAsset, MediaStatus, Upload
from lms.media.probe import ProbeResult
from lms.media.transcode import TranscodeError, transcode

log = logging.getLogger(__name__)


@app_task(retries=2, retry_delay=30)
def transcode_asset(asset_id: int) -> None:
    """Transcode one asset into a temporary folder, then rename it into place and mark the
    asset ready. Nothing is served until then; a worker killed half-way leaves only a temporary
    folder, and the job is sent again when its heartbeat goes stale."""
    if not _claim(asset_id):
        log.info("asset %s is done, gone, or being transcoded by a live worker", asset_id)
        return
    asset = db.session.get(MediaAsset, asset_id)

    renditions = storage.media_path("renditions")
    renditions.mkdir(parents=True, exist_ok=True)
    for leftover in renditions.glob(f".{asset.id}.*.tmp"):  # from a worker that died half-way
        shutil.rmtree(leftover, ignore_errors=True)
    scratch = renditions / f".{asset.id}.{secrets.token_hex(4)}.tmp"
    scratch.mkdir()
    last_beat = [0.0]

    def on_progress(percent: float) -> None:
        now = time.monotonic()
        if now - last_beat[0] >= 1 or percent >= 100:
            last_beat[0] = now
            asset.progress = min(99, int(percent))
            asset.heartbeat_at = utcnow()
            db.session.commit()

    try:
        result = transcode(
            storage.media_path(asset.original_path),
            scratch,
            ProbeResult.from_dict(asset.probe),
            on_progress=on_progress,
            timeout_s=current_app.config["LMS_TRANSCODE_TIMEOUT_S"],
        )
    except TranscodeError as error:
        shutil.rmtree(scratch, ignore_errors=True)
        asset.status, asset.error = MediaStatus.FAILED, error.detail or str(error)
        db.session.commit()
        return
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise

    final = storage.media_path(asset.folder)
    if final.exists():  # a retranscode: the old renditions go once the new ones are in place
        stale = final.with_name(f".{final.name}.{secrets.token_hex(4)}.old")
        final.rename(stale)
        scratch.rename(final)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        scratch.rename(final)
    asset.renditions = result.as_dict()
    asset.duration_s = result.duration_s
    asset.status, asset.progress, asset.ready_at = MediaStatus.READY, 100, utcnow()
    for lesson in db.session.scalars(
        select(Lesson)
        .join(LessonMedia, LessonMedia.lesson_id == Lesson.id)
        .where(LessonMedia.asset_id == asset.id)
    ):
        lesson.duration_s = round(result.duration_s)
    db.session.commit()


def _claim(asset_id: int) -> bool:
    """Take the job with one conditional UPDATE, so that of two workers handed the same job
    (a job sent again) only one runs it, on any number of machines."""
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
    db.session.commit()
    return claimed == 1


@huey.periodic_task(crontab(minute="*"))
def send_stalled_jobs_again() -> None:
    with huey.flask_app.app_context():
        requeue_stalled()


@huey.periodic_task(crontab(minute="17"))
def remove_expired_uploads() -> None:
    with huey.flask_app.app_context():
        delete_expired_uploads()


def delete_expired_uploads() -> int:
    """Abandoned resumable uploads past their expiry go, rows and partial files alike."""
    expired = db.session.scalars(select(Upload).where(Upload.expires_at <= utcnow())).all()
    for upload in expired:
        storage.delete_file(upload.path)
        db.session.delete(upload)
    db.session.commit()
    return len(expired)


@huey.on_startup()
def _on_worker_start() -> None:
    with huey.flask_app.app_context():
        requeue_stalled()


def requeue_stalled() -> int:
    """Send again every job whose asset has not moved for LMS_TRANSCODE_STALL_S seconds: its
    worker died (or its queue lost it). Returns how many were sent."""
    from lms.media.operations import requeue

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
        requeue(asset)
    db.session.commit()
    return len(stalled)

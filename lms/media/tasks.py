"""Background jobs of the media feature: transcoding, sending stalled jobs again, and sweeping
expired uploads. A job is a caller like a view: it calls operations and commits."""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from huey import crontab

from lms.core import storage
from lms.core.jobs import app_task, huey
from lms.extensions import db
from lms.media import operations, processes
from lms.media.models import MediaAsset
from lms.media.probe import ProbeResult
from lms.media.transcode import TranscodeError, estimated_output_bytes, transcode

log = logging.getLogger(__name__)


@app_task(retries=2, retry_delay=30)
def transcode_asset(asset_id: int) -> None:
    """Transcode one asset into a temporary folder, then rename it into place and mark the
    asset ready. Nothing is served until then; a worker killed half-way leaves only a temporary
    folder, and the job is sent again when its heartbeat goes stale."""
    asset = operations.claim_transcode(asset_id)
    if asset is None:
        log.info("asset %s is done, gone, or being transcoded by a live worker", asset_id)
        return
    attempt = asset.attempts
    db.session.commit()
    scratch = _scratch_folder(asset)
    info = ProbeResult.from_dict(asset.probe)
    config = current_app.config
    try:
        result = transcode(
            storage.media_path(asset.original_path),
            scratch,
            info,
            on_progress=_heartbeat(asset, attempt),
            timeout_s=config["LMS_TRANSCODE_TIMEOUT_S"],
            max_output_bytes=int(
                config["LMS_TRANSCODE_MAX_OUTPUT_FACTOR"] * estimated_output_bytes(info)
                + config["LMS_VIDEO_OUTPUT_FLOOR_BYTES"]
            ),
        )
    except Superseded:
        # The job was sent again and another worker took it: this one's ffmpeg is stopped
        # (transcode() kills it when on_progress raises) and its folder goes; the row is theirs.
        shutil.rmtree(scratch, ignore_errors=True)
        db.session.rollback()
        log.warning("asset %s was taken over by another worker; this attempt stops", asset_id)
        return
    except TranscodeError as error:
        shutil.rmtree(scratch, ignore_errors=True)
        operations.fail_transcode(asset, reason=error.detail or str(error))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    else:
        _move_into_place(scratch, storage.media_path(asset.folder))
        operations.finish_transcode(asset, result)
    db.session.commit()


class Superseded(Exception):
    """The asset was claimed again by another worker while this one transcoded it."""


def _leftover_folders(asset_id: int) -> list[Path]:
    """The scratch folders of earlier attempts at *asset_id* (each ``.<id>.<random>.tmp``)."""
    return list(storage.media_path("renditions").glob(f".{asset_id}.*.tmp"))


def _scratch_folder(asset: MediaAsset) -> Path:
    renditions = storage.media_path("renditions")
    renditions.mkdir(parents=True, exist_ok=True)
    for leftover in _leftover_folders(asset.id):  # from a worker that died or hung half-way
        processes.stop_leftovers([leftover])  # its ffmpeg, if it still runs on this machine
        shutil.rmtree(leftover, ignore_errors=True)
    scratch = renditions / f".{asset.id}.{secrets.token_hex(4)}.tmp"
    scratch.mkdir()
    return scratch


def _heartbeat(asset: MediaAsset, attempt: int) -> Callable[[float], None]:
    """Record progress at most once a second: each commit tells the others this worker lives.
    Raises ``Superseded`` once another worker has claimed the asset (a later *attempt*)."""
    last_beat = 0.0

    def on_progress(percent: float) -> None:
        nonlocal last_beat
        now = time.monotonic()
        if now - last_beat >= 1 or percent >= 100:
            last_beat = now
            still_ours = operations.record_transcode_progress(asset, percent, attempt=attempt)
            db.session.commit()
            if not still_ours:
                raise Superseded(asset.id)

    return on_progress


def _move_into_place(scratch: Path, final: Path) -> None:
    if final.exists():  # a retranscode: the old renditions go once the new ones are in place
        stale = final.with_name(f".{final.name}.{secrets.token_hex(4)}.old")
        final.rename(stale)
        scratch.rename(final)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        scratch.rename(final)


def requeue_stalled() -> int:
    """Send again the jobs whose worker died; returns how many. An ffmpeg the dead job left
    running on this machine is stopped (one on another machine stops at its next heartbeat,
    or with its worker, or when the job sent again clears its folder there)."""
    sent = operations.requeue_stalled()
    # The dead jobs' folders are listed (and their ffmpeg stopped) before the commit sends the
    # jobs again: a worker on this machine may take one at once, and its new folder must not be
    # mistaken for a leftover.
    processes.stop_leftovers(
        [folder for asset_id in sent for folder in _leftover_folders(asset_id)]
    )
    db.session.commit()
    return len(sent)


def delete_expired_uploads() -> int:
    """Abandoned resumable uploads past their expiry go, rows and partial files alike."""
    expired = operations.expire_uploads()
    db.session.commit()
    return expired


@huey.on_startup()
def _on_worker_start() -> None:
    with huey.flask_app.app_context():
        requeue_stalled()


@huey.periodic_task(crontab(minute="*"))
def send_stalled_jobs_again() -> None:
    with huey.flask_app.app_context():
        requeue_stalled()


@huey.periodic_task(crontab(minute="17"))
def remove_expired_uploads() -> None:
    with huey.flask_app.app_context():
        delete_expired_uploads()

"""A worker killed in the middle of a transcode: nothing half-made is served, and the job runs
again when a worker starts."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lms.core.jobs import huey
from lms.extensions import db
from lms.media import operations as media
from lms.media.models import MediaAsset, MediaStatus
from tests.conftest import sign_in
from tests.media.clips import make_clip


@pytest.fixture
def app_config(tmp_path):
    return {
        "LMS_QUEUE_IMMEDIATE": False,
        "LMS_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
    }


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory):
    """Long enough at 720p that transcoding takes a few seconds on two cores."""
    return make_clip(
        tmp_path_factory.mktemp("slow") / "slow.mp4", seconds=40, width=1280, height=720
    )


def start_worker(app, tmp_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "LMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "LMS_QUEUE_URL": app.config["LMS_QUEUE_URL"],
        "LMS_MEDIA_DIR": app.config["LMS_MEDIA_DIR"],
        "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "LMS_TRANSCODE_STALL_S": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "lms.cli", "worker", "-w", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(asset_id: int, statuses: set[MediaStatus], timeout: float = 120) -> MediaAsset:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        asset = db.session.get(MediaAsset, asset_id)
        if asset.status in statuses and (
            MediaStatus.PROCESSING not in statuses or asset.progress > 0
        ):
            return asset
        time.sleep(0.2)
    raise AssertionError(f"asset {asset_id} stayed {asset.status} ({asset.progress} %)")


def test_a_killed_worker_leaves_nothing_served_and_the_job_runs_again(
    app, client, teacher, tmp_path, slow_clip
):
    huey.flush()
    asset, _reused = media.save_stream(
        teacher, filename="slow.mp4", stream=io.BytesIO(slow_clip.read_bytes())
    )
    db.session.commit()
    assert asset.status is MediaStatus.QUEUED
    asset_id = asset.id

    worker = start_worker(app, tmp_path)
    try:
        processing = wait_for(asset_id, {MediaStatus.PROCESSING})
        assert 0 < processing.progress < 100
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its ffmpeg, mid-job
        worker.wait(timeout=10)
        worker.stdout.close()

    renditions = Path(app.config["LMS_MEDIA_DIR"]) / "renditions"
    assert not (renditions / str(asset_id)).exists()  # only a temporary folder was written
    sign_in(client, teacher)
    response = client.get(f"/media/{asset_id}/master.m3u8")
    assert response.status_code == 404
    time.sleep(1.5)  # let the dead job's heartbeat go stale

    worker = start_worker(app, tmp_path)
    try:
        done = wait_for(asset_id, {MediaStatus.READY, MediaStatus.FAILED}, timeout=180)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    assert done.status is MediaStatus.READY, (done.error, output)
    assert done.attempts == 2
    assert (renditions / str(asset_id) / "master.m3u8").exists()
    assert not list(renditions.glob(f".{asset_id}.*"))  # the dead job's scratch folder is gone

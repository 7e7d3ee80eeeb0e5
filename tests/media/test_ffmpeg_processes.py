"""ffmpeg dies with its worker, and a job sent again stops the ffmpeg its earlier attempt left
running, but nothing else (issue 11, item 7)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from lms.core.jobs import huey
from lms.core.time import utcnow
from lms.extensions import db
from lms.media import operations as media
from lms.media import processes, tasks
from lms.media.models import MediaAsset, MediaStatus
from lms.media.probe import probe
from lms.media.transcode import transcode
from tests.media.test_worker_recovery import app_config, slow_clip, start_worker, wait_for

__all__ = ["app_config", "slow_clip"]  # fixtures shared with the worker-recovery test


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not processes.is_running(pid):
            return True
        time.sleep(0.1)
    return not processes.is_running(pid)


def endless_ffmpeg(folder: Path) -> subprocess.Popen:
    """A real ffmpeg that runs until it is killed, 'writing' into *folder* at real-time pace."""
    return subprocess.Popen(  # noqa: S603
        ["ffmpeg", "-v", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x64"]
        + ["-f", "null", str(folder / "out.nut")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def stray(tmp_path):
    """``stray(folder)``: an endless ffmpeg with its pid file in *folder*, reaped afterwards."""
    started: list[subprocess.Popen] = []

    def start(folder: Path, program: list[str] | None = None) -> subprocess.Popen:
        folder.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(program) if program else endless_ffmpeg(folder)  # noqa: S603
        started.append(process)
        time.sleep(0.2)  # let it exec
        processes.record(folder / processes.PID_FILE, process.pid, marker=str(folder))
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.once
def test_a_worker_killed_alone_takes_its_ffmpeg_with_it(app, teacher, tmp_path, slow_clip):
    huey.flush()
    asset, _reused = media.save_stream(
        teacher, filename="slow.mp4", stream=io.BytesIO(slow_clip.read_bytes())
    )
    db.session.commit()
    asset_id = asset.id
    renditions = Path(app.config["LMS_MEDIA_DIR"]) / "renditions"

    worker = start_worker(app, tmp_path)
    try:
        wait_for(asset_id, {MediaStatus.PROCESSING})
        pid_files = list(renditions.glob(f".{asset_id}.*.tmp/{processes.PID_FILE}"))
        assert len(pid_files) == 1
        ffmpeg = json.loads(pid_files[0].read_text())["pid"]
        assert processes.is_running(ffmpeg)
        assert os.getpgid(ffmpeg) == os.getpgid(worker.pid)  # in the worker's process group
        os.kill(worker.pid, signal.SIGKILL)  # the worker only, not its group
        worker.wait(timeout=10)
        assert gone_within(ffmpeg, 5), "ffmpeg outlived its worker"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its group
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        worker.stdout.close()


@pytest.mark.once
def test_the_pid_file_names_ffmpeg_while_it_runs_and_goes_with_it(clips, tmp_path):
    info = probe(clips["long"], max_duration_s=3600)
    seen: list[dict] = []

    def on_progress(percent: float) -> None:
        if not seen and percent < 100:
            seen.append(json.loads((tmp_path / processes.PID_FILE).read_text()))

    transcode(clips["long"], tmp_path, info, on_progress=on_progress)
    assert seen
    assert seen[0]["marker"] == str(tmp_path.resolve())
    assert not processes.is_running(seen[0]["pid"])
    assert not (tmp_path / processes.PID_FILE).exists()  # not renamed into place with the rest


def test_requeueing_a_stalled_job_stops_its_earlier_ffmpeg(app, teacher, save_video, stray):
    huey.flush()
    asset = save_video(teacher)
    db.session.commit()
    asset.status, asset.attempts = MediaStatus.PROCESSING, 1
    asset.heartbeat_at = utcnow() - timedelta(minutes=10)  # its worker hung or died
    db.session.commit()
    scratch = Path(app.config["LMS_MEDIA_DIR"]) / "renditions" / f".{asset.id}.0badcafe.tmp"
    left = stray(scratch)
    other = stray(scratch.with_name(f".{asset.id + 1}.0badcafe.tmp"))  # another asset's job

    assert tasks.requeue_stalled() == 1
    assert gone_within(left.pid, 5)
    assert left.wait(timeout=5) == -signal.SIGKILL
    assert other.poll() is None  # not this job's: left alone
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status is MediaStatus.QUEUED


def test_the_job_sent_again_stops_the_earlier_ffmpeg_before_clearing_its_folder(
    app, teacher, save_video, stray
):
    huey.flush()
    asset = save_video(teacher)
    db.session.commit()
    scratch = Path(app.config["LMS_MEDIA_DIR"]) / "renditions" / f".{asset.id}.0badcafe.tmp"
    left = stray(scratch)
    tasks.transcode_asset.call_local(asset.id)
    assert left.wait(timeout=5) == -signal.SIGKILL
    assert not scratch.exists()
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status is MediaStatus.READY


@pytest.mark.once
def test_only_that_very_ffmpeg_is_stopped(tmp_path, stray):
    folder = tmp_path / "job"
    # Not ffmpeg: a pid file naming another program (a recycled pid) is not obeyed.
    sleeper = stray(folder, ["sleep", "60"])
    assert not processes.stop_recorded(folder / processes.PID_FILE)
    assert sleeper.poll() is None

    ffmpeg = stray(folder)
    pid_file = folder / processes.PID_FILE
    recorded = json.loads(pid_file.read_text())
    for change in (
        {"start": recorded["start"] + 1},  # same pid, started at another time
        {"marker": str(tmp_path / "elsewhere")},  # an ffmpeg writing somewhere else
        {"host": "another-machine"},
        {"boot": "another-boot"},
        {"pid": 1},
    ):
        pid_file.write_text(json.dumps({**recorded, **change}))
        assert not processes.stop_recorded(pid_file), change
        assert ffmpeg.poll() is None, change
    pid_file.write_text("not json")
    assert not processes.stop_recorded(pid_file)
    assert not processes.stop_recorded(tmp_path / "missing.pid")

    pid_file.write_text(json.dumps(recorded))
    assert processes.stop_recorded(pid_file)
    assert ffmpeg.wait(timeout=5) == -signal.SIGKILL


def test_a_worker_whose_job_was_taken_over_stops_at_its_next_heartbeat(app, teacher, save_video):
    asset = save_video(teacher)
    db.session.commit()
    asset.status, asset.attempts = MediaStatus.PROCESSING, 2  # claimed again by another worker
    db.session.commit()
    assert not media.record_transcode_progress(asset, 50, attempt=1)
    assert media.record_transcode_progress(asset, 50, attempt=2)
    assert asset.progress == 50

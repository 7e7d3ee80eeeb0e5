"""Uploads that would cost far more to transcode than they are worth (issue 11, item 8): each is
refused when it is probed, with its own Chinese reason and nothing left behind, while a normal
clip and the largest accepted picture still transcode; the transcode itself is capped too."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.extensions import db
from lms.media.models import MediaAsset, MediaStatus, Upload
from lms.media.probe import Limits, ProbeError, probe
from lms.media.transcode import TranscodeError, build_command, estimated_output_bytes, transcode
from tests.conftest import api_token
from tests.media.test_uploads import media_files, rows, upload_file

# What ffprobe and ffmpeg make of hostile clips: run in the SQLite pass (tests/conftest.py).
pytestmark = pytest.mark.once

HOUR = 3600.0
THREE_HOURS = 3 * HOUR

HOSTILE = [
    # (clip, probe code, words of the resident's message)
    ("two_frames", "too_sparse", ["161 分钟", "只有 2 帧"]),
    ("black_hours", "too_costly", ["170 分钟", "KB", "转码后会比原文件大得多"]),
    ("fps240", "too_fast", ["每秒 240 帧", "最高支持每秒 120 帧"]),
    ("8k", "too_large", ["7680×4320", "3840×2160"]),
]


@pytest.mark.parametrize(("clip", "code", "_words"), HOSTILE)
def test_hostile_clips_are_refused_by_the_probe(clips, clip, code, _words):
    with pytest.raises(ProbeError) as refused:
        probe(clips[clip], max_duration_s=THREE_HOURS)
    assert refused.value.code == code


def test_the_hostile_clips_are_what_they_claim(clips):
    """Each one is small and otherwise a valid video: only the new limits stop it."""
    lenient = Limits(
        max_fps=1000,
        max_long_side=10_000,
        max_short_side=10_000,
        min_frames_per_s=0,
        max_output_ratio=1e9,
    )
    two = probe(clips["two_frames"], max_duration_s=THREE_HOURS, limits=lenient)
    assert two.duration_s == pytest.approx(2 * HOUR + 41 * 60, abs=1)
    assert two.size_bytes < 30_000
    black = probe(clips["black_hours"], max_duration_s=THREE_HOURS, limits=lenient)
    assert black.duration_s == pytest.approx(2 * HOUR + 50 * 60, abs=1)
    assert black.size_bytes < 100_000
    assert estimated_output_bytes(black) > 500 * 1024**2
    fast = probe(clips["fps240"], max_duration_s=THREE_HOURS, limits=lenient)
    assert fast.frame_rate == 240
    big = probe(clips["8k"], max_duration_s=THREE_HOURS, limits=lenient)
    assert (big.width, big.height) == (7680, 4320)
    assert clips["8k"].stat().st_size < 500_000


def test_a_portrait_picture_is_measured_by_its_sides(tmp_path):
    from tests.media.clips import make_lavfi

    tall = make_lavfi(tmp_path / "tall.mp4", "color=c=gray:size=2160x3840:rate=1:d=2")
    info = probe(tall, max_duration_s=HOUR)  # 4K on its side is still 4K
    assert (info.width, info.height) == (2160, 3840)
    with pytest.raises(ProbeError) as refused:
        probe(tall, max_duration_s=HOUR, limits=Limits(max_long_side=1920, max_short_side=1080))
    assert refused.value.code == "too_large"


@pytest.mark.parametrize(("clip", "_code", "words"), HOSTILE)
def test_hostile_uploads_are_refused_with_their_reason_and_leave_nothing(
    app, client, teacher, clips, clip, _code, words
):
    headers = api_token(client, teacher)
    _url, completed = upload_file(client, headers, clips[clip].read_bytes())
    assert completed.status_code == 422
    error = completed.get_json()["error"]
    assert error["code"] == "unsupported_media"
    for word in words:
        assert word in error["message"]
    assert rows(Upload) == 0
    assert rows(MediaAsset) == 0
    assert media_files(app, "uploads") == []
    assert media_files(app, "originals") == []


@pytest.mark.parametrize("app_config", [{"LMS_VIDEO_MAX_FPS": 20}])
def test_the_limits_come_from_the_configuration(app, client, teacher, clips):
    headers = api_token(client, teacher)
    _url, completed = upload_file(client, headers, clips["long"].read_bytes())  # 25 fps
    assert completed.status_code == 422
    assert "每秒 25 帧" in completed.get_json()["error"]["message"]
    assert rows(MediaAsset) == 0


def test_a_4k_upload_is_accepted_and_scaled_down_to_the_top_rung(app, client, teacher, clips):
    headers = api_token(client, teacher)
    _url, completed = upload_file(client, headers, clips["4k"].read_bytes())
    assert completed.status_code == 201, completed.get_json()
    asset = db.session.get(MediaAsset, completed.get_json()["media"]["id"])
    db.session.refresh(asset)
    assert asset.status is MediaStatus.READY, asset.error
    top = asset.renditions["rungs"][-1]
    assert (top["name"], top["width"], top["height"]) == ("720p", 1280, 720)


def test_a_normal_upload_still_transcodes(app, client, teacher, clips):
    headers = api_token(client, teacher)
    _url, completed = upload_file(client, headers, clips["long"].read_bytes())
    assert completed.status_code == 201, completed.get_json()
    asset = db.session.get(MediaAsset, completed.get_json()["media"]["id"])
    db.session.refresh(asset)
    assert asset.status is MediaStatus.READY, asset.error
    assert asset.duration_s == pytest.approx(8, abs=0.2)


# The transcode itself -----------------------------------------------------------------------


def test_ffmpeg_reads_no_more_than_the_probed_duration(clips):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    command = build_command(clips["landscape"], Path("/srv/out"), info)
    at = command.index("-i")
    assert command[at - 2 : at] == ["-t", "14.000"]  # 13 s and a second of slack


def test_a_source_longer_than_its_probe_says_makes_renditions_of_the_probed_length(clips, tmp_path):
    from dataclasses import replace

    info = replace(probe(clips["long"], max_duration_s=HOUR), duration_s=3.0)
    result = transcode(clips["long"], tmp_path, info)
    assert result.duration_s == pytest.approx(4, abs=0.6)  # 3 s and the slack, not 8


def test_ffmpeg_is_stopped_when_the_output_grows_past_its_cap(clips, tmp_path):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    with pytest.raises(TranscodeError, match="passed"):
        transcode(clips["landscape"], tmp_path, info, max_output_bytes=100_000)
    assert not (tmp_path / ".ffmpeg.pid").exists()


def test_the_estimate_is_close_to_what_comes_out(clips, tmp_path):
    """The output cap (3 × the estimate + 64 MB) is far above what a real clip makes."""
    info = probe(clips["long"], max_duration_s=HOUR)
    transcode(clips["long"], tmp_path, info)
    made = sum(path.stat().st_size for path in tmp_path.rglob("*") if path.is_file())
    estimate = estimated_output_bytes(info)
    assert 0.3 * estimate < made < 2 * estimate

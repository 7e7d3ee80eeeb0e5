"""Probing uploads: what is accepted is described correctly, what is not is refused with the
right reason (law 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lms.media.probe import ProbeError, ProbeResult, probe
from tests.media.clips import make_clip

# ffprobe and files only: run in the SQLite pass (tests/conftest.py).
pytestmark = pytest.mark.once

HOUR = 3600.0


def test_landscape_clip_is_described(clips):
    path = clips["landscape"]
    info = probe(path, max_duration_s=HOUR)
    assert (info.width, info.height, info.rotation) == (640, 360, 0)
    assert info.duration_s == pytest.approx(13, abs=0.1)
    assert info.video_codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert info.frame_rate == 25
    assert not info.variable_frame_rate
    assert info.has_audio
    assert info.audio_codec == "aac"
    assert "mp4" in info.format_name
    assert info.size_bytes == path.stat().st_size


def test_as_dict_is_json_and_round_trips(clips):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    stored = json.loads(json.dumps(info.as_dict()))
    assert ProbeResult.from_dict(stored) == info


def test_phone_rotation_gives_portrait_display_size(clips):
    info = probe(clips["phone"], max_duration_s=HOUR)
    assert info.rotation == 90
    assert (info.width, info.height) == (360, 640)


def test_rotation_by_180_keeps_the_size(tmp_path):
    info = probe(make_clip(tmp_path / "upside.mp4", seconds=2, rotate=180), max_duration_s=HOUR)
    assert (info.rotation, info.width, info.height) == (180, 640, 360)


def test_no_audio(clips):
    info = probe(clips["no_audio"], max_duration_s=HOUR)
    assert not info.has_audio
    assert info.audio_codec is None


def test_variable_frame_rate_is_noticed(clips):
    info = probe(clips["vfr"], max_duration_s=HOUR)
    assert info.variable_frame_rate
    assert info.frame_rate == pytest.approx(25, abs=0.5)


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt"),
    [("hevc10", "hevc", "yuv420p10le"), ("vp9", "vp9", "yuv420p"), ("av1", "av1", "yuv420p")],
)
def test_other_codecs_are_accepted(clips, name, codec, pix_fmt):
    info = probe(clips[name], max_duration_s=HOUR)
    assert (info.video_codec, info.pix_fmt) == (codec, pix_fmt)
    assert (info.width, info.height) == (320, 240)


def test_odd_dimensions(clips):
    info = probe(clips["odd"], max_duration_s=HOUR)
    assert (info.width, info.height) == (321, 241)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty", "empty"),
        ("garbage", "not_media"),
        ("text", "not_media"),
        ("audio_only", "no_video"),
        ("cover_art", "no_video"),
        ("blink", "too_short"),
        # Cut before the index (written last): ffprobe cannot open it, but it starts like an
        # MP4, so it is reported as damaged rather than as "not a video".
        ("truncated", "corrupt"),
        # Index first, data cut: the header is fine, the end of the video is missing.
        ("truncated_faststart", "corrupt"),
        # Header and index intact, the picture data is noise.
        ("scrambled", "corrupt"),
    ],
)
def test_bad_files_are_refused_with_the_reason(clips, name, code):
    with pytest.raises(ProbeError) as refused:
        probe(clips[name], max_duration_s=HOUR)
    assert refused.value.code == code


def test_too_long(clips):
    with pytest.raises(ProbeError) as refused:
        probe(clips["landscape"], max_duration_s=10)
    assert refused.value.code == "too_long"


def test_missing_file_is_a_probe_error(tmp_path):
    with pytest.raises(ProbeError) as refused:
        probe(tmp_path / "gone.mp4", max_duration_s=HOUR)
    assert refused.value.code == "empty"


def test_a_playlist_disguised_as_a_video_is_not_followed(tmp_path):
    # An HLS playlist makes ffmpeg open whatever files it names (here a real video, so an
    # unguarded probe would accept it); only real containers may be opened.
    segment = make_clip(tmp_path / "elsewhere.ts", seconds=2, width=320, height=240)
    playlist = tmp_path / "lesson.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n{segment}\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(ProbeError) as refused:
        probe(playlist, max_duration_s=HOUR)
    assert refused.value.code == "not_media"


def test_the_timeout_bounds_the_probe(clips):
    with pytest.raises(ProbeError) as refused:
        probe(clips["landscape"], max_duration_s=HOUR, timeout_s=0.001)
    assert refused.value.code == "corrupt"


def test_unknown_codes_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown"):
        ProbeError("boring")


def test_weird_ffprobe_values_never_escape_as_other_errors(monkeypatch, tmp_path):
    # ffprobe's JSON with values a broken file can produce: N/A, 0/0, missing keys.
    from lms.media import probe as module

    path = tmp_path / "weird.mp4"
    path.write_bytes(b"\0" * 100)
    streams = [
        {"codec_type": "video", "width": "N/A", "avg_frame_rate": "0/0", "disposition": None},
    ]
    monkeypatch.setattr(module, "_ffprobe", lambda url, deadline: {"streams": streams})
    with pytest.raises(ProbeError) as refused:
        probe(path, max_duration_s=HOUR)
    assert refused.value.code == "too_short"

    streams[0]["duration"] = "12.5"
    with pytest.raises(ProbeError) as refused:
        probe(path, max_duration_s=HOUR)
    assert refused.value.code == "corrupt"  # no picture size

    monkeypatch.setattr(module, "_ffprobe", lambda url, deadline: {"streams": "nonsense"})
    with pytest.raises(ProbeError) as refused:
        probe(Path(path), max_duration_s=HOUR)
    assert refused.value.code == "no_video"

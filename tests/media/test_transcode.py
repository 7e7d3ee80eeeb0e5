"""Transcoding: one ffmpeg process writes a ladder, an audio-only playlist, a download and a
poster that play everywhere; failures are reported readably."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.media.probe import ProbeResult, probe
from lms.media.transcode import (
    LADDER,
    Rung,
    TranscodeError,
    TranscodeResult,
    build_command,
    plan_ladder,
    transcode,
)
from tests.media.clips import ffprobe, top_level_boxes

# ffmpeg and files only: run in the SQLite pass (tests/conftest.py).
pytestmark = pytest.mark.once

HOUR = 3600.0


class Done:
    """A finished transcode: its result, its folder, and the progress values it reported."""

    def __init__(self, result: TranscodeResult, out: Path, info: ProbeResult, progress: list):
        self.result, self.out, self.info, self.progress = result, out, info, progress

    def video(self, relative: str) -> dict:
        return next(
            s for s in ffprobe(self.out / relative)["streams"] if s["codec_type"] == "video"
        )

    def has_audio(self, relative: str) -> bool:
        return any(s["codec_type"] == "audio" for s in ffprobe(self.out / relative)["streams"])

    def first_segment(self, playlist: str) -> str:
        text = (self.out / playlist).read_text()
        segment = next(line for line in text.splitlines() if line and not line.startswith("#"))
        return str(Path(playlist).parent / segment)


@pytest.fixture(scope="module")
def transcoded(clips, tmp_path_factory):
    """``transcoded("phone")``: that clip probed and transcoded, once per module."""

    done: dict[str, Done] = {}

    def run(name: str) -> Done:
        if name not in done:
            source = clips[name]
            info = probe(source, max_duration_s=HOUR)
            out = tmp_path_factory.mktemp(f"out-{name}")
            progress: list[float] = []
            result = transcode(source, out, info, on_progress=progress.append)
            done[name] = Done(result, out, info, progress)
        return done[name]

    return run


# The ladder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "names"),
    [
        (1080, ["240p", "360p", "480p", "720p"]),
        (720, ["240p", "360p", "480p", "720p"]),
        (719, ["240p", "360p", "480p"]),
        (360, ["240p", "360p"]),
        (241, ["240p"]),
        (240, ["240p"]),
    ],
)
def test_ladder_never_exceeds_the_source(height, names):
    rungs = plan_ladder(height)
    assert [rung.name for rung in rungs] == names
    assert all(rung.height <= height for rung in rungs)


def test_a_source_below_the_lowest_rung_keeps_its_own_even_height():
    (rung,) = plan_ladder(201)
    assert (rung.name, rung.height) == ("200p", 200)
    assert rung.video_kbps == LADDER[0].video_kbps


def test_the_ladder_climbs():
    assert all(isinstance(rung, Rung) for rung in LADDER)
    for low, high in zip(LADDER, LADDER[1:], strict=False):
        assert low.height < high.height
        assert low.video_kbps < high.video_kbps <= high.max_kbps


def test_one_process_with_split(clips):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    command = build_command(clips["landscape"], Path("/srv/out"), info, threads=2)
    assert command[0].endswith("ffmpeg")
    graph = command[command.index("-filter_complex") + 1]
    assert "split=4" in graph  # two rungs, the download and the poster
    assert command.count("-i") == 1
    assert "-var_stream_map" in command
    assert command[command.index("-var_stream_map") + 1] == "v:0,a:0,name:v0 v:1,a:1,name:v1"
    at = command.index("-threads")
    assert command[at : at + 2] == ["-threads", "2"]


# A 640×360 clip with sound -----------------------------------------------------------------


def test_outputs_exist_and_are_described(transcoded):
    done = transcoded("landscape")
    result = done.result
    assert [(r["name"], r["width"], r["height"]) for r in result.rungs] == [
        ("240p", 426, 240),
        ("360p", 640, 360),
    ]
    assert [r["playlist"] for r in result.rungs] == ["v0/index.m3u8", "v1/index.m3u8"]
    assert (result.master_playlist, result.audio_playlist) == ("master.m3u8", "audio/index.m3u8")
    assert (result.mp4, result.poster) == ("download.mp4", "poster.jpg")
    for relative in [result.master_playlist, result.audio_playlist, result.mp4, result.poster]:
        assert (done.out / relative).stat().st_size > 0
    assert result.duration_s == pytest.approx(13, abs=0.1)
    assert result.as_dict()["rungs"] == result.rungs


def test_master_playlist_lists_the_rungs(transcoded):
    done = transcoded("landscape")
    master = (done.out / "master.m3u8").read_text()
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", master)
    assert [uri for _, uri in variants] == ["v0/index.m3u8", "v1/index.m3u8"]
    for (attributes, _), rung in zip(variants, done.result.rungs, strict=True):
        assert f"RESOLUTION={rung['width']}x{rung['height']}" in attributes
        assert f"BANDWIDTH={rung['bandwidth']}" in attributes
        assert 'CODECS="avc1.' in attributes
        assert "mp4a.40.2" in attributes
    # The audio-only playlist is loaded directly by the player, never chosen by it.
    assert "audio/" not in master
    bandwidths = [rung["bandwidth"] for rung in done.result.rungs]
    assert bandwidths == sorted(bandwidths)
    assert bandwidths[0] > 300_000


def test_segments_are_six_seconds_and_aligned(transcoded):
    done = transcoded("landscape")
    durations = []
    for rung in done.result.rungs:
        playlist = (done.out / rung["playlist"]).read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist
        assert "#EXT-X-INDEPENDENT-SEGMENTS" in playlist
        assert "#EXT-X-ENDLIST" in playlist
        target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist).group(1))
        assert target <= 7
        durations.append([float(d) for d in re.findall(r"#EXTINF:([\d.]+)", playlist)])
    assert durations[0] == durations[1]  # keyframes at the same instants in every rung
    assert durations[0][:-1] == pytest.approx([6.0, 6.0], abs=0.05)
    assert sum(durations[0]) == pytest.approx(13, abs=0.1)


def test_segments_are_8_bit_h264_with_aac(transcoded):
    done = transcoded("landscape")
    for rung in done.result.rungs:
        segment = done.first_segment(rung["playlist"])
        video = done.video(segment)
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
        assert (video["width"], video["height"]) == (rung["width"], rung["height"])
        assert done.has_audio(segment)


def test_audio_only_playlist(transcoded):
    done = transcoded("landscape")
    playlist = (done.out / "audio/index.m3u8").read_text()
    assert "#EXT-X-ENDLIST" in playlist
    segment = done.first_segment("audio/index.m3u8")
    streams = ffprobe(done.out / segment)["streams"]
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [("audio", "aac")]
    assert int(streams[0]["channels"]) == 2


def test_download_is_faststart_mp4_at_most_480p(transcoded):
    done = transcoded("landscape")
    data = (done.out / "download.mp4").read_bytes()
    kinds = [kind for kind, _, _ in top_level_boxes(data)]
    assert kinds[0] == "ftyp"
    assert kinds.index("moov") < kinds.index("mdat")
    video = done.video("download.mp4")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (video["width"], video["height"]) == (640, 360)
    assert done.has_audio("download.mp4")


def test_poster_is_a_small_jpeg_of_the_360p_rung_size(transcoded):
    done = transcoded("landscape")
    assert (done.out / "poster.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    video = done.video("poster.jpg")
    rung = next(r for r in done.result.rungs if r["name"] == "360p")
    assert video["codec_name"] == "mjpeg"
    assert (video["width"], video["height"]) == (rung["width"], rung["height"])


def test_progress_rises_and_ends_at_100(transcoded):
    progress = transcoded("landscape").progress
    assert len(progress) >= 2
    assert progress == sorted(set(progress))
    assert all(0 <= value <= 100 for value in progress)
    assert progress[-1] == 100
    assert progress.count(100) == 1


# Other sources ------------------------------------------------------------------------------


def test_720p_source_gets_the_whole_ladder_and_a_480p_download(transcoded):
    done = transcoded("hd")
    assert [r["name"] for r in done.result.rungs] == ["240p", "360p", "480p", "720p"]
    assert [(r["width"], r["height"]) for r in done.result.rungs][-1] == (1280, 720)
    master = (done.out / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 4
    assert "RESOLUTION=854x480" in master
    mp4 = done.video("download.mp4")
    assert (mp4["width"], mp4["height"]) == (854, 480)
    poster = done.video("poster.jpg")
    assert (poster["width"], poster["height"]) == (640, 360)  # shown before play: no larger
    assert (done.out / "poster.jpg").stat().st_size < 40_000


def test_rotated_phone_clip_comes_out_portrait(transcoded):
    done = transcoded("phone")
    assert [(r["width"], r["height"]) for r in done.result.rungs] == [(240, 426), (360, 640)]
    for relative in [done.first_segment("v1/index.m3u8"), "download.mp4", "poster.jpg"]:
        video = done.video(relative)
        assert video["height"] > video["width"], relative
        assert not video.get("side_data_list"), "turned already: players must not turn it again"
    assert "RESOLUTION=360x640" in (done.out / "master.m3u8").read_text()


def test_portrait_source_is_laddered_on_its_short_side(transcoded):
    done = transcoded("portrait")
    assert [(r["name"], r["width"], r["height"]) for r in done.result.rungs] == [
        ("240p", 240, 426),
        ("360p", 360, 640),
    ]


def test_source_without_audio_gets_no_audio(transcoded):
    done = transcoded("no_audio")
    assert done.result.audio_playlist is None
    assert not (done.out / "audio").exists()
    master = (done.out / "master.m3u8").read_text()
    assert "mp4a" not in master
    for relative in [done.first_segment("v0/index.m3u8"), "download.mp4"]:
        assert not done.has_audio(relative)


@pytest.mark.parametrize("name", ["hevc10", "vp9", "av1"])
def test_other_codecs_come_out_as_8_bit_h264(transcoded, name):
    done = transcoded(name)
    for relative in [done.first_segment("v0/index.m3u8"), "download.mp4"]:
        video = done.video(relative)
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
        assert video["profile"] == "High"


def test_odd_dimensions_come_out_even(transcoded):
    done = transcoded("odd")
    assert [(r["width"], r["height"]) for r in done.result.rungs] == [(320, 240)]
    video = done.video(done.first_segment("v0/index.m3u8"))
    assert (video["width"], video["height"], video["pix_fmt"]) == (320, 240, "yuv420p")


def test_small_source_is_not_upscaled(transcoded):
    done = transcoded("tiny")
    assert [(r["name"], r["width"], r["height"]) for r in done.result.rungs] == [("200p", 354, 200)]


def test_variable_frame_rate_comes_out_constant(transcoded):
    done = transcoded("vfr")
    assert done.info.variable_frame_rate
    packets = ffprobe(done.out / "download.mp4", "packet=pts_time", select="v:0")["packets"]
    times = sorted(float(packet["pts_time"]) for packet in packets)
    gaps = {round(b - a, 4) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {0.04}
    video = done.video("download.mp4")
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "25/1"


# Failures -----------------------------------------------------------------------------------


def test_corrupt_input_raises_a_readable_error(clips, tmp_path):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    with pytest.raises(TranscodeError) as failed:
        transcode(clips["garbage"], tmp_path, info)
    detail = failed.value.detail
    assert "Invalid data found when processing input" in detail
    assert "0x" not in detail
    assert str(clips["garbage"].parent) not in detail


def test_timeout_kills_ffmpeg(clips, tmp_path):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    with pytest.raises(TranscodeError, match="timed out"):
        transcode(clips["landscape"], tmp_path, info, timeout_s=0.2)


def test_a_failing_progress_callback_stops_ffmpeg(clips, tmp_path):
    info = probe(clips["landscape"], max_duration_s=HOUR)

    def boom(percent: float) -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        transcode(clips["landscape"], tmp_path, info, on_progress=boom)


def test_output_folder_must_be_empty(clips, tmp_path):
    info = probe(clips["landscape"], max_duration_s=HOUR)
    (tmp_path / "left-over").touch()
    with pytest.raises(ValueError, match="empty"):
        transcode(clips["landscape"], tmp_path, info)

"""Turn a probed upload into everything the player needs, with one ffmpeg process.

Pure Python and subprocess: no Flask, no database. One decode of the source feeds, through
``-filter_complex`` and ``split``:

- the HLS ladder: H.264 (8-bit 4:2:0, so HEVC, VP9, AV1 and 10-bit sources play everywhere)
  with AAC, one folder per rung (``v0/``, ``v1/`` …), 6-second segments that start on
  keyframes at the same instants in every rung, and ``master.m3u8`` listing the rungs;
- ``audio/index.m3u8``: AAC only, for residents on slow data who choose "audio only". It is
  deliberately *not* in the master playlist: players switch to any listed variant on their
  own, and a lesson going black on a weak signal would look broken. The player loads it
  directly;
- ``download.mp4``: at most 480p, moov atom first (``+faststart``) so it plays while loading;
- ``poster.jpg``: one frame from 10 % into the video, at the 360p rung's size (or the lowest
  rung's, below that): shown before play on phones, it need be no larger (640 × 360 for 16:9).

"p" sizes count the short side of the picture as it is shown, so a portrait phone video gets
the same sharpness as a landscape one (its "720p" is 720×1280). The caller gives an empty
temporary folder and renames it into place afterwards (law 5).
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from lms.media import processes
from lms.media.probe import FFMPEG, INPUT_GUARD, ProbeResult, input_url


@dataclass(frozen=True)
class Rung:
    """One step of the ladder; ``height`` is the short side of the displayed picture."""

    name: str
    height: int
    video_kbps: int  # average
    max_kbps: int  # peak the player must be able to sustain
    audio_kbps: int


LADDER = (
    Rung("240p", 240, 300, 450, 64),
    Rung("360p", 360, 600, 900, 96),
    Rung("480p", 480, 1000, 1500, 96),
    Rung("720p", 720, 2200, 3300, 128),
)
AUDIO_ONLY_KBPS = 64
DOWNLOAD_MAX_HEIGHT = 480
MAX_FPS = 30
PRESET = "veryfast"
# Frame rates players and TVs expect; an average within 1 % of one (phones' variable rate
# averages 29.87) is snapped to it.
STANDARD_RATES = tuple(
    Fraction(rate) for rate in ("24000/1001", "24", "25", "30000/1001", "30", "15", "20", "12.5")
)

MASTER = "master.m3u8"
AUDIO_PLAYLIST = "audio/index.m3u8"
DOWNLOAD = "download.mp4"
POSTER = "poster.jpg"
POSTER_MAX_HEIGHT = 360
TAIL_LINES = 50
# Read no more of the source than the probed duration and this much more: a file whose index
# promised less than its data holds cannot make longer renditions.
DURATION_SLACK_S = 1.0
OUTPUT_CHECK_INTERVAL_S = 1.0


def plan_ladder(source_height: int) -> list[Rung]:
    """The rungs not above *source_height* (the short side of the display); never upscales.

    A source smaller than the lowest rung gets one rung at its own (even) size.
    """
    fitting = [rung for rung in LADDER if rung.height <= source_height]
    if fitting:
        return fitting
    height = max(2, source_height - source_height % 2)
    return [replace(LADDER[0], name=f"{height}p", height=height)]


@dataclass
class TranscodeResult:
    """Where the renditions are, relative to the output folder."""

    duration_s: float
    rungs: list[dict[str, Any]]  # {"name", "height", "width", "bandwidth", "playlist"}, low to high
    audio_playlist: str | None  # None when the source has no audio
    master_playlist: str
    mp4: str
    poster: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TranscodeError(Exception):
    """ffmpeg failed; ``detail`` is the readable end of what it said."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class _Output:
    rung: Rung
    width: int
    height: int


@dataclass(frozen=True)
class _Plan:
    rungs: list[_Output]
    download: _Output
    poster: _Output
    fps: Fraction
    poster_at_s: float


def build_command(
    source: Path, out_dir: Path, info: ProbeResult, *, segment_s: int = 6, threads: int = 0
) -> list[str]:
    """The ffmpeg command line that writes every rendition of *source* into *out_dir*.

    *threads* is the encoder threads per output; 0 lets ffmpeg decide.
    """
    plan = _plan(info)
    out = Path(out_dir).resolve()
    if "%" in str(out):
        raise ValueError("the output folder's path must not contain '%' (an HLS template)")
    audio = info.has_audio
    threads_args = ["-threads", str(threads)] if threads else []
    gop = max(1, round(plan.fps * segment_s))
    keyframes = [
        "-g",
        str(gop),
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{segment_s})",
    ]
    # Outputs waiting for their first audio or video frame buffer the other streams' packets;
    # a source whose audio starts late would overflow ffmpeg's default queue.
    common = ["-map_metadata", "-1", "-map_chapters", "-1", "-max_muxing_queue_size", "4096"]
    hls = ["-f", "hls", "-hls_time", str(segment_s), "-hls_playlist_type", "vod"]
    hls += ["-hls_flags", "independent_segments", "-hls_segment_type", "mpegts"]

    command = [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-v", "error"]
    command += ["-progress", "pipe:1", *INPUT_GUARD]
    command += ["-t", f"{info.duration_s + DURATION_SLACK_S:.3f}", "-i", input_url(source)]
    command += ["-filter_complex", _filtergraph(plan)]

    # The ladder: one HLS muxer, one variant per rung, each with its own audio.
    for index, _output in enumerate(plan.rungs):
        command += ["-map", f"[v{index}]"] + (["-map", "0:a:0"] if audio else [])
    command += ["-c:v", "libx264", "-preset", PRESET, *keyframes]
    for index, output in enumerate(plan.rungs):
        command += _video_rate(f"v:{index}", output.rung)
    if audio:
        command += ["-c:a", "aac", "-ac", "2"]
        for index, output in enumerate(plan.rungs):
            command += [f"-b:a:{index}", f"{output.rung.audio_kbps}k"]
    variants = " ".join(
        f"v:{index}" + (f",a:{index}" if audio else "") + f",name:v{index}"
        for index in range(len(plan.rungs))
    )
    # "name:vN" is what %v becomes, so each rung gets its folder vN/.
    command += [*common, *threads_args, *hls]
    command += ["-hls_segment_filename", str(out / "%v" / "seg_%05d.ts")]
    command += ["-master_pl_name", MASTER, "-var_stream_map", variants]
    command += [str(out / "%v" / "index.m3u8")]

    if audio:
        command += ["-map", "0:a:0", "-c:a", "aac", "-ac", "2", "-b:a", f"{AUDIO_ONLY_KBPS}k"]
        command += [*common, *hls, "-hls_segment_filename", str(out / "audio" / "seg_%05d.ts")]
        command += [str(out / AUDIO_PLAYLIST)]

    download = plan.download
    command += ["-map", "[download]"] + (["-map", "0:a:0"] if audio else [])
    command += ["-c:v", "libx264", "-preset", PRESET, *keyframes]
    command += _video_rate("v:0", download.rung)
    if audio:
        command += ["-c:a", "aac", "-ac", "2", "-b:a", f"{download.rung.audio_kbps}k"]
    command += [*common, *threads_args, "-movflags", "+faststart", str(out / DOWNLOAD)]

    command += ["-map", "[poster]", "-frames:v", "1", "-update", "1", "-q:v", "5"]
    command += [*common, str(out / POSTER)]
    return command


def transcode(
    source: Path,
    out_dir: Path,
    info: ProbeResult,
    *,
    on_progress: Callable[[float], None] | None = None,
    segment_s: int = 6,
    timeout_s: float | None = None,
    max_output_bytes: int | None = None,
) -> TranscodeResult:
    """Write every rendition of *source* into *out_dir*, which must exist and be empty.

    *on_progress* receives a rising percentage at most about once a second, then 100 when every
    output is verified. On failure, after *timeout_s* or once *out_dir* holds more than
    *max_output_bytes*, ffmpeg is killed and ``TranscodeError`` raised; the caller discards the
    folder. ffmpeg dies with the thread that started it, and while it runs its pid is recorded
    in ``out_dir/.ffmpeg.pid`` so that a job sent again can stop it (lms/media/processes.py).
    """
    out = Path(out_dir).resolve()
    if not out.is_dir() or any(out.iterdir()):
        raise ValueError(f"{out} must be an existing, empty folder")
    plan = _plan(info)
    command = build_command(source, out, info, segment_s=segment_s)
    if info.has_audio:
        (out / "audio").mkdir()  # the HLS muxer only creates %v folders

    process = subprocess.Popen(  # noqa: S603 - fixed program, paths are ours
        command,
        cwd=out,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
        errors="replace",
        preexec_fn=processes.die_with_parent(),  # only prctl, resolved before the fork
    )
    pid_file = out / processes.PID_FILE
    with contextlib.suppress(OSError):  # without it the parent-death signal still holds
        processes.record(pid_file, process.pid, marker=str(out))
    # stderr is drained by a thread so that a chatty ffmpeg never blocks on a full pipe.
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    reader = threading.Thread(target=tail.extend, args=(process.stderr,), daemon=True)
    reader.start()
    timed_out, too_big, finished = threading.Event(), threading.Event(), threading.Event()

    def expire() -> None:
        timed_out.set()
        process.kill()

    def guard_size() -> None:
        while not finished.wait(OUTPUT_CHECK_INTERVAL_S):
            if _folder_size(out) > max_output_bytes:
                too_big.set()
                process.kill()
                return

    watchdog = threading.Timer(timeout_s, expire) if timeout_s else None
    size_guard = threading.Thread(target=guard_size, daemon=True) if max_output_bytes else None
    try:
        if watchdog:
            watchdog.daemon = True
            watchdog.start()
        if size_guard:
            size_guard.start()
        _follow_progress(process.stdout, info.duration_s, on_progress)
        returncode = process.wait()
    finally:
        finished.set()
        if watchdog:
            watchdog.cancel()
        if process.poll() is None:  # on_progress raised: do not leave ffmpeg running
            process.kill()
            process.wait()
        processes.forget(pid_file)
        reader.join(timeout=5)
        if size_guard:
            size_guard.join(timeout=5)
        process.stdout.close()
        process.stderr.close()

    if timed_out.is_set():
        raise TranscodeError(f"timed out after {timeout_s:g} s\n{_readable(tail, source)}".strip())
    if too_big.is_set():
        limit_mb = max_output_bytes / 1024**2
        raise TranscodeError(f"stopped: the renditions passed {limit_mb:.0f} MB")
    if returncode != 0:
        raise TranscodeError(_readable(tail, source) or f"ffmpeg exited with {returncode}")
    result = _collect(out, plan, info)
    if on_progress:
        on_progress(100.0)
    return result


def estimated_output_bytes(info: ProbeResult) -> int:
    """About how many bytes the renditions of *info* take: every output's average bit rate
    over the whole duration (the ladder, the download and the audio-only playlist)."""
    plan = _plan(info)
    outputs = [output.rung for output in [*plan.rungs, plan.download]]
    kbps = sum(rung.video_kbps for rung in outputs)
    if info.has_audio:
        kbps += sum(rung.audio_kbps for rung in outputs) + AUDIO_ONLY_KBPS
    return int(info.duration_s * kbps * 1000 / 8)


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a playlist renamed into place in between
                total += os.stat(os.path.join(root, name)).st_size
    return total


def _plan(info: ProbeResult) -> _Plan:
    """Sizes of every output, computed once so the command and the result agree."""
    if info.width <= 0 or info.height <= 0:
        raise ValueError("the probe result has no picture size")

    def sized(rung: Rung) -> _Output:
        # The rung's height is the short side; the long side keeps the display aspect ratio.
        if info.width >= info.height:
            return _Output(rung, _even(rung.height * info.width / info.height), rung.height)
        return _Output(rung, rung.height, _even(rung.height * info.height / info.width))

    rungs = [sized(rung) for rung in plan_ladder(min(info.width, info.height))]
    download = [output for output in rungs if output.rung.height <= DOWNLOAD_MAX_HEIGHT][-1]
    poster = ([output for output in rungs if output.rung.height <= POSTER_MAX_HEIGHT] or rungs)[-1]
    # 10 % in skips black openings and title cards; short clips take 1 s, or their middle.
    poster_at = 0.1 * info.duration_s
    if poster_at < 1:
        poster_at = min(1.0, info.duration_s / 2)
    return _Plan(rungs, download, poster, _output_fps(info.frame_rate), round(poster_at, 3))


def _filtergraph(plan: _Plan) -> str:
    """Decode once, make the frame rate constant once, then split into every output.

    ffmpeg turns the picture upright before this graph (autorotate), so sizes are display
    sizes; ``setsar=1`` gives square pixels, which the sizes already account for.
    """
    branches = len(plan.rungs) + 2
    labels = "".join(f"[s{index}]" for index in range(branches))
    parts = [f"[0:V:0]fps={plan.fps},split={branches}{labels}"]
    for index, output in enumerate([*plan.rungs, plan.download]):
        target = f"v{index}" if index < len(plan.rungs) else "download"
        parts.append(
            f"[s{index}]scale={output.width}:{output.height},setsar=1,format=yuv420p[{target}]"
        )
    poster = plan.poster
    parts.append(
        f"[s{branches - 1}]select='gte(t,{plan.poster_at_s})*isnan(prev_selected_t)',"
        f"setpts=PTS-STARTPTS,scale={poster.width}:{poster.height},setsar=1[poster]"
    )
    return ";".join(parts)


def _video_rate(specifier: str, rung: Rung) -> list[str]:
    return [
        f"-b:{specifier}",
        f"{rung.video_kbps}k",
        f"-maxrate:{specifier}",
        f"{rung.max_kbps}k",
        f"-bufsize:{specifier}",
        f"{2 * rung.max_kbps}k",
    ]


def _output_fps(frame_rate: float) -> Fraction:
    """A constant output rate: the source's average, halved (or more) above 30 so that frames
    are dropped evenly (50 → 25, 60 → 30), and snapped to a standard rate when close to one."""
    if not (math.isfinite(frame_rate) and frame_rate > 0):
        return Fraction(25)
    rate = max(1.0, frame_rate / math.ceil(frame_rate / MAX_FPS))
    nearest = min(STANDARD_RATES, key=lambda standard: abs(rate - standard))
    if abs(rate - nearest) / nearest < 0.01:
        return nearest
    return Fraction(rate).limit_denominator(1001)


def _even(size: float) -> int:
    return max(2, round(size / 2) * 2)


def _follow_progress(
    lines: Iterable[str], duration_s: float, on_progress: Callable[[float], None] | None
) -> None:
    """Read ffmpeg's ``-progress`` report (key=value lines) to the end, reporting percentages.

    ``out_time_us`` (and ``out_time_ms``, which ffmpeg 5 also gives in microseconds) is how far
    the furthest output has got. The value only rises and is sent at most once a second;
    100 is left for the caller, after the outputs are verified.
    """
    last_sent, last_time = -1.0, 0.0
    for line in lines:
        key, _, value = line.strip().partition("=")
        if key not in ("out_time_us", "out_time_ms") or on_progress is None or duration_s <= 0:
            continue
        try:
            seconds = int(value) / 1_000_000
        except ValueError:  # "N/A" before the first frame
            continue
        percent = round(min(99.0, max(0.0, 100 * seconds / duration_s)), 1)
        now = time.monotonic()
        if percent > last_sent and now - last_time >= 1.0:
            on_progress(percent)
            last_sent, last_time = percent, now


def _collect(out: Path, plan: _Plan, info: ProbeResult) -> TranscodeResult:
    """Check that every output is there and complete, and describe it."""
    rung_playlists = [f"v{index}/index.m3u8" for index in range(len(plan.rungs))]
    playlists = rung_playlists + ([AUDIO_PLAYLIST] if info.has_audio else [])
    for name in [MASTER, *playlists, DOWNLOAD, POSTER]:
        if not (out / name).is_file() or (out / name).stat().st_size == 0:
            raise TranscodeError(f"ffmpeg finished without writing {name}")
    durations = {}
    for name in playlists:
        text = (out / name).read_text(encoding="utf-8")
        segments = [line for line in text.splitlines() if line and not line.startswith("#")]
        missing = [segment for segment in segments if not (out / name).with_name(segment).is_file()]
        if "#EXT-X-ENDLIST" not in text or not segments or missing:
            raise TranscodeError(f"{name} is incomplete")
        durations[name] = sum(float(value) for value in re.findall(r"#EXTINF:([\d.]+)", text))

    bandwidths = _master_bandwidths((out / MASTER).read_text(encoding="utf-8"))
    rungs = []
    for output, playlist in zip(plan.rungs, rung_playlists, strict=True):
        if playlist not in bandwidths:
            raise TranscodeError(f"{MASTER} does not list {playlist}")
        rungs.append(
            {
                "name": output.rung.name,
                "height": output.height,
                "width": output.width,
                "bandwidth": bandwidths[playlist],
                "playlist": playlist,
            }
        )
    return TranscodeResult(
        # What the player will play, which the server clips watched time to (law 4).
        duration_s=round(durations[rung_playlists[0]], 3),
        rungs=rungs,
        audio_playlist=AUDIO_PLAYLIST if info.has_audio else None,
        master_playlist=MASTER,
        mp4=DOWNLOAD,
        poster=POSTER,
    )


def _master_bandwidths(text: str) -> dict[str, int]:
    """``{variant URI: BANDWIDTH}`` from a master playlist."""
    found, bandwidth = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            match = re.search(r"(?:^|[:,])BANDWIDTH=(\d+)", line)
            bandwidth = int(match.group(1)) if match else 0
        elif line and not line.startswith("#") and bandwidth is not None:
            found[line], bandwidth = bandwidth, None
    return found


_ADDRESS = re.compile(r" @ 0x[0-9a-f]+")


def _readable(lines: Iterable[str], source: Path) -> str:
    """The last meaningful lines ffmpeg wrote, without memory addresses or our own paths."""
    url = input_url(source)
    cleaned: list[str] = []
    for line in lines:
        line = _ADDRESS.sub("", line).replace(url, Path(source).name).strip()
        if line and (not cleaned or cleaned[-1] != line):
            cleaned.append(line)
    return "\n".join(cleaned[-8:])

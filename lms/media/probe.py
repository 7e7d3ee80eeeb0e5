"""Probe an uploaded file and refuse what is not a real, decodable video (law 6).

Pure Python and subprocess: no Flask, no database. The caller maps ``ProbeError.code`` to a
translated message and stores ``ProbeResult.as_dict()`` on the MediaAsset row.

Reading the header is not enough: a file cut off half-way or filled with garbage can carry a
perfect header, so after ffprobe the first and the last seconds of the video are decoded too.
"""

from __future__ import annotations

import math
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import ffmpeg

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

ERROR_CODES = (
    "empty",
    "not_media",
    "no_video",
    "too_long",
    "too_short",
    "corrupt",
    "too_fast",  # frame rate above Limits.max_fps
    "too_large",  # picture above Limits.max_long_side × Limits.max_short_side
    "too_sparse",  # fewer frames than Limits.min_frames_per_s over its duration
    "too_costly",  # renditions far larger than the upload (Limits.max_output_ratio)
)
MIN_DURATION_S = 1.0
DECODE_WINDOW_S = 2.0

# The demuxers an upload may be read with, by name. Left to itself ffmpeg also opens
# playlists (hls, concat) and image sequences, through which a crafted "video" makes it read
# other local files or the network. Phones, cameras and PCs produce nothing outside this list.
# Audio containers are on it so that an MP3 is refused as "no_video", not as "not_media".
DEMUXERS = (
    "mov",  # mp4, m4a, 3gp, mov
    "matroska",  # mkv, webm
    "avi",
    "asf",  # wmv
    "flv",
    "mpegts",  # ts, mts, m2ts
    "mpeg",  # mpg, vob
    "ogg",
    "rm",  # rm, rmvb
    "mxf",
    "dv",
    "nut",
    "mp3",
    "wav",
    "aac",
    "flac",
    "amr",
)

# Put before every ``-i`` of an uploaded file, here and in the transcoder.
INPUT_GUARD = ("-protocol_whitelist", "file", "-format_whitelist", ",".join(DEMUXERS))

# The first bytes of containers we accept: a file that starts like one but cannot be opened
# was damaged (an interrupted copy), which deserves "corrupt" rather than "not_media".
_MAGIC = (
    (4, b"ftyp"),  # mp4, mov, 3gp
    (0, b"\x1a\x45\xdf\xa3"),  # matroska, webm
    (0, b"FLV"),
    (8, b"AVI "),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),  # asf, wmv
    (0, b".RMF"),
)


@dataclass(frozen=True)
class Limits:
    """What an upload may cost to transcode, checked before a single frame is decoded. A tiny
    file can claim hours, thousands of frames a second or an 8K picture; each would cost
    minutes of CPU and thousands of segments. The defaults match lms/config.py."""

    max_fps: float = 120  # average frame rate (output is at most 30 fps anyway)
    max_long_side: int = 3840  # larger pictures are refused; smaller ones are scaled down
    max_short_side: int = 2160  # to the ladder's top rung
    min_frames_per_s: float = 0.1  # frames in the stream per second of claimed duration
    max_output_ratio: float = 200  # estimated renditions ≤ ratio × upload size + floor
    output_floor_bytes: int = 64 * 1024**2


@dataclass(frozen=True)
class ProbeResult:
    """What the platform needs to know about an accepted upload."""

    duration_s: float
    width: int  # display width: sample aspect ratio and rotation applied
    height: int  # display height: sample aspect ratio and rotation applied
    rotation: int  # clockwise degrees to turn the coded picture for display: 0, 90, 180, 270
    video_codec: str
    pix_fmt: str
    frame_rate: float  # average
    variable_frame_rate: bool
    has_audio: bool
    audio_codec: str | None
    format_name: str
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable, for the MediaAsset row."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        """Rebuild from ``as_dict()`` (the worker reads it back from the row); extra keys are ignored."""
        return cls(**{field.name: data[field.name] for field in fields(cls)})


class ProbeError(Exception):
    """The file is refused; ``code`` is one of ``ERROR_CODES``, ``detail`` is for the log,
    ``values`` are the numbers the resident's message names (what the file has, the limit)."""

    def __init__(self, code: str, detail: str = "", **values: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown probe error code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.values = values


def probe(
    path: Path, *, max_duration_s: float, timeout_s: float = 60, limits: Limits | None = None
) -> ProbeResult:
    """Describe the video at *path*, or raise ``ProbeError`` saying why it is refused.

    Checks, cheapest first: not empty; ffprobe can open it; it has a video stream that is not
    just cover art; it lasts at least a second and at most *max_duration_s*; it stays within
    *limits* (picture size, frame rate, frames for its duration, renditions for its size); its
    first and last seconds of video decode without a single error. *timeout_s* bounds the
    whole probe.
    """
    limits = limits or Limits()
    deadline = time.monotonic() + timeout_s
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProbeError("empty", f"cannot read the file: {exc.strerror}") from None
    if size == 0:
        raise ProbeError("empty")

    url = input_url(path)
    data = _ffprobe(url, deadline)
    if data is None:
        code = "corrupt" if _looks_like_container(path) else "not_media"
        raise ProbeError(code, "ffprobe cannot open it")
    streams = [s for s in _list(data.get("streams")) if isinstance(s, dict)]
    container = data.get("format") if isinstance(data.get("format"), dict) else {}

    video = next((s for s in streams if _is_video(s)), None)
    if video is None:
        raise ProbeError("no_video", "no video stream besides cover art")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)

    duration = _positive(container.get("duration")) or _positive(video.get("duration"))
    if duration is None or duration < MIN_DURATION_S:
        raise ProbeError("too_short", f"duration {duration}")
    if duration > max_duration_s:
        raise ProbeError("too_long", f"{duration:.0f} s > {max_duration_s:.0f} s")

    width, height = _int(video.get("width")), _int(video.get("height"))
    if not width or not height:
        raise ProbeError("corrupt", "the video stream has no picture size")
    coded = (width, height)
    aspect = _ratio(video.get("sample_aspect_ratio"), ":")
    if aspect and abs(aspect - 1) > 0.01:
        width = max(1, round(width * aspect))
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width

    average = _ratio(video.get("avg_frame_rate"), "/")
    real = _ratio(video.get("r_frame_rate"), "/")
    # r_frame_rate is the rate that represents every timestamp exactly; when the average is
    # measurably lower, frames come at uneven intervals (phones do this in dim light).
    variable = bool(average and real and abs(real - average) / real > 0.002)

    result = ProbeResult(
        duration_s=round(duration, 3),
        width=width,
        height=height,
        rotation=rotation,
        video_codec=str(video.get("codec_name") or "unknown"),
        pix_fmt=str(video.get("pix_fmt") or "unknown"),
        frame_rate=round(average or real or 0.0, 3),
        variable_frame_rate=variable,
        has_audio=audio is not None,
        audio_codec=str(audio.get("codec_name") or "unknown") if audio else None,
        format_name=str(container.get("format_name") or "unknown"),
        size_bytes=size,
    )
    _check_limits(result, coded, _frame_count(video, url, deadline), limits)
    _check_decodes(url, duration, deadline)
    return result


def _check_limits(
    info: ProbeResult, coded: tuple[int, int], frames: int | None, limits: Limits
) -> None:
    """Refuse what would cost far more to transcode than a lesson of its length should.

    The picture is measured both as coded and as shown (a stretched or turned picture
    decodes at its coded size); the frame rate both as ffprobe averages it and as frames
    counted over the duration, when the container says how many there are.
    """
    long_side = max(*coded, info.width, info.height)
    short_side = max(min(coded), min(info.width, info.height))
    if long_side > limits.max_long_side or short_side > limits.max_short_side:
        raise ProbeError(
            "too_large",
            f"{info.width}x{info.height} (coded {coded[0]}x{coded[1]})",
            width=info.width,
            height=info.height,
            max_width=limits.max_long_side,
            max_height=limits.max_short_side,
        )
    counted = frames / info.duration_s if frames else None
    fps = max(info.frame_rate, counted or 0.0)
    if fps > limits.max_fps:
        raise ProbeError("too_fast", f"{fps:.1f} fps", fps=round(fps), max_fps=limits.max_fps)
    if counted is not None and counted < limits.min_frames_per_s:
        raise ProbeError(
            "too_sparse",
            f"{frames} frames in {info.duration_s:.0f} s",
            frames=frames,
            duration_s=info.duration_s,
        )
    from lms.media.transcode import estimated_output_bytes  # the ladder lives there

    output = estimated_output_bytes(info)
    if output > limits.max_output_ratio * info.size_bytes + limits.output_floor_bytes:
        raise ProbeError(
            "too_costly",
            f"about {output / 1024**2:.0f} MB of renditions from {info.size_bytes} bytes",
            size_bytes=info.size_bytes,
            duration_s=info.duration_s,
        )


def _frame_count(video: dict[str, Any], url: str, deadline: float) -> int | None:
    """The frames of the video stream: as the container's index states it (MP4, MOV), else
    counted by reading the packets (Matroska, WebM …: demuxing only, no decoding). None when
    it cannot be told; the other checks and the decoding still apply."""
    stated = _int(video.get("nb_frames"))
    if stated:
        return stated
    command = [FFPROBE, "-v", "error", *INPUT_GUARD, "-select_streams", "V:0", "-count_packets"]
    command += ["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", url]
    try:
        finished = subprocess.run(  # noqa: S603 - fixed program, the path is ours
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=max(0.1, deadline - time.monotonic()),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError("corrupt", "counting frames did not finish in time") from None
    if finished.returncode != 0:
        return None
    return _int(finished.stdout.decode("ascii", "replace").strip().split(",")[0]) or None


def input_url(path: Path) -> str:
    """The ``-i`` argument for a local file: ``file:`` so a name with ``:`` or a leading ``-``
    cannot be taken for a protocol or an option."""
    return f"file:{Path(path).resolve()}"


def _ffprobe(url: str, deadline: float) -> dict[str, Any] | None:
    """``ffmpeg.probe()`` with a deadline; None when ffprobe cannot open the file.

    ffmpeg-python 0.2 takes no timeout, so the call runs in a daemon thread and is abandoned
    when late. That is safe: with only the file protocol allowed, ffprobe reads no more than its
    probe size of a local file and ends on its own.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["data"] = ffmpeg.probe(
                url,
                cmd=FFPROBE,
                v="error",
                protocol_whitelist=INPUT_GUARD[1],
                format_whitelist=INPUT_GUARD[3],
            )
        except Exception as exc:  # ffmpeg.Error, JSON and decoding errors alike
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="ffprobe", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise ProbeError("corrupt", "ffprobe did not finish in time")
    data = outcome.get("data")
    return data if isinstance(data, dict) else None


def _check_decodes(url: str, duration: float, deadline: float) -> None:
    """Decode the first and the last seconds of the video; any error refuses the file.

    The head catches garbage behind a good header; the tail catches a file cut off after its
    index (the index then promises frames that are not there). A short file is decoded whole.
    """
    command = [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-xerror"]
    if duration <= 3 * DECODE_WINDOW_S:
        command += [*INPUT_GUARD, "-i", url, "-map", "0:V:0"]
    else:
        window = f"{DECODE_WINDOW_S:g}"
        command += [*INPUT_GUARD, "-t", window, "-i", url]
        command += [*INPUT_GUARD, "-sseof", f"-{window}", "-i", url]
        command += ["-map", "0:V:0", "-map", "1:V:0"]
    command += ["-f", "null", "-"]
    try:
        finished = subprocess.run(  # noqa: S603 - fixed program, the path is ours
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=max(0.1, deadline - time.monotonic()),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError("corrupt", "decoding did not finish in time") from None
    errors = finished.stderr.decode("utf-8", "replace").strip()
    if finished.returncode != 0 or errors:
        raise ProbeError("corrupt", _tail(errors) or f"ffmpeg exited with {finished.returncode}")


def _is_video(stream: dict[str, Any]) -> bool:
    # The same streams ffmpeg's "V" specifier selects: video that is not an attached picture.
    disposition = stream.get("disposition")
    cover = isinstance(disposition, dict) and _int(disposition.get("attached_pic")) == 1
    return stream.get("codec_type") == "video" and not cover


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise display rotation in quarter turns, from the display matrix or the old tag."""
    for side in _list(stream.get("side_data_list")):
        if isinstance(side, dict) and side.get("side_data_type") == "Display Matrix":
            counterclockwise = _number(side.get("rotation"))
            if counterclockwise is not None:
                return _quarter(-counterclockwise)
    tags = stream.get("tags")
    if isinstance(tags, dict):
        clockwise = _number(tags.get("rotate"))
        if clockwise is not None:
            return _quarter(clockwise)
    return 0


def _quarter(degrees: float) -> int:
    return round(degrees / 90) % 4 * 90


def _looks_like_container(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _MAGIC)


def _tail(text: str, lines: int = 5) -> str:
    return "\n".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    """A finite float from ffprobe's JSON, where numbers come as strings and may be 'N/A'."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _int(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and number > 0 else 0


def _ratio(value: Any, separator: str) -> float | None:
    """``"30000/1001"`` or ``"4:3"`` as a positive float; None for ``"0/0"``, ``"N/A"`` …"""
    if not isinstance(value, str) or value.count(separator) != 1:
        return None
    numerator, denominator = (_number(part) for part in value.split(separator))
    if not numerator or not denominator or numerator <= 0 or denominator <= 0:
        return None
    return numerator / denominator

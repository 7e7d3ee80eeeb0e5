"""Test clips generated with ffmpeg's lavfi sources (testsrc2 + sine), made once per session.

Every clip is short and small so that the whole media suite stays fast. ``ClipLibrary`` makes
each named clip on first use; the ``clips`` fixture (conftest.py) is one library per session.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"

# Flags that make each encoder fast enough for tests; quality does not matter here.
_FAST = {
    "libx264": ["-preset", "ultrafast"],
    "libx265": ["-preset", "ultrafast", "-x265-params", "log-level=error"],
    "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"],
    "libsvtav1": ["-preset", "12"],
}


def run(command: list[str]) -> None:
    """Run a command, failing with what it printed."""
    finished = subprocess.run(command, capture_output=True, check=False)  # noqa: S603
    if finished.returncode != 0:
        raise RuntimeError(f"{command!r} failed:\n{finished.stderr.decode(errors='replace')}")


def ffprobe(path: Path, *entries: str, select: str | None = None) -> dict[str, Any]:
    """ffprobe's JSON for *path* (``-show_streams -show_format`` unless entries are given),
    of the streams *select* names (e.g. ``"v:0"``) or all."""
    shown = ["-show_entries", ":".join(entries)] if entries else ["-show_streams", "-show_format"]
    chosen = ["-select_streams", select] if select else []
    command = [FFPROBE, "-v", "error", *chosen, *shown, "-of", "json", str(path)]
    finished = subprocess.run(command, capture_output=True, check=True)  # noqa: S603
    return json.loads(finished.stdout)


def make_clip(
    path: Path,
    *,
    seconds: float = 3,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool = True,
    rotate: int | None = None,
    vfr: bool = False,
    faststart: bool = False,
) -> Path:
    """A testsrc2 picture (with a sine tone) encoded as asked; the container follows the suffix.

    *rotate* is the clockwise turn a player applies, as a phone records it: the picture is coded
    *width* × *height* and shown turned. *vfr* makes every other frame come late, like a phone
    in dim light.
    """
    # testsrc2 only makes even sizes; an odd size is scaled to afterwards.
    size = f"{width + width % 2}x{height + height % 2}"
    source = f"testsrc2=size={size}:rate={fps}:duration={seconds}"
    command = [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", source]
    if audio:
        tone = f"sine=frequency=440:sample_rate=48000:duration={seconds}"
        command += ["-f", "lavfi", "-i", tone]
    filters = []
    if width % 2 or height % 2:
        filters.append(f"scale={width}:{height}")
    if vfr:
        filters += ["settb=1/1000", f"setpts='(N/{fps}+if(mod(N,2),0.3/{fps},0))/TB'"]
        command += ["-fps_mode", "vfr", "-enc_time_base", "1:1000"]
    if filters:
        command += ["-vf", ",".join(filters)]
    command += ["-c:v", codec, *_FAST.get(codec, []), "-pix_fmt", pix_fmt]
    if audio:
        command += ["-c:a", "libopus" if path.suffix == ".webm" else "aac", "-shortest"]
    if faststart:
        command += ["-movflags", "+faststart"]
    if rotate is None:
        run([*command, str(path)])
        return path

    plain = path.with_name(f"plain-{path.name}")
    run([*command, str(plain)])
    # ffmpeg 5.1 turns the "rotate" tag into a display matrix turning counterclockwise by the
    # tag's value, so the phone's clockwise turn is written as its complement.
    tag = (360 - rotate) % 360
    remux = [FFMPEG, "-v", "error", "-y", "-i", str(plain), "-c", "copy"]
    run([*remux, "-metadata:s:v:0", f"rotate={tag}", str(path)])
    plain.unlink()
    matrix = ffprobe(path)["streams"][0].get("side_data_list", [{}])[0]
    assert round(-matrix.get("rotation", 0)) % 360 == rotate, matrix
    return path


def make_lavfi(
    path: Path, source: str, *, filters: str | None = None, passthrough: bool = False
) -> Path:
    """A silent H.264 clip of a lavfi *source* (``"color=…"``, ``"testsrc2=…"``) as it is,
    encoded as fast as x264 can. *passthrough* keeps every timestamp *filters* set (no frames
    are duplicated or dropped to make the rate constant)."""
    command = [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", source]
    if filters:
        command += ["-vf", filters]
    if passthrough:
        command += ["-fps_mode", "passthrough"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    run(command)
    return path


def make_two_frames(path: Path, gap_s: float) -> Path:
    """Two frames *gap_s* seconds apart, and nothing else: a few KB claiming hours."""
    source = "testsrc2=size=320x240:rate=1"
    return make_lavfi(
        path, source, filters=f"trim=end_frame=2,setpts=N*{gap_s}/TB", passthrough=True
    )


def make_truncated(path: Path, source: Path) -> Path:
    """The first half of *source*'s bytes, like an upload cut off half-way."""
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_scrambled(path: Path, source: Path) -> Path:
    """*source* with every byte of its media data replaced by noise: the header is intact."""
    data = bytearray(source.read_bytes())
    noise = random.Random(6)
    for kind, start, end in top_level_boxes(bytes(data)):
        if kind == "mdat":
            data[start + 8 : end] = noise.randbytes(end - start - 8)
    path.write_bytes(bytes(data))
    return path


def make_garbage(path: Path, size: int = 200_000) -> Path:
    """Random bytes under a video's name."""
    path.write_bytes(random.Random(7).randbytes(size))
    return path


def make_text(path: Path) -> Path:
    """A text file renamed to .mp4."""
    path.write_text("第一课 讲义\n这不是视频。\n" * 200, encoding="utf-8")
    return path


def make_audio_only(path: Path, seconds: float = 3) -> Path:
    """An AAC recording in an .m4a, no picture at all."""
    tone = f"sine=frequency=440:duration={seconds}"
    run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", tone, "-c:a", "aac", str(path)])
    return path


def make_cover_art_only(path: Path, seconds: float = 3) -> Path:
    """An .m4a whose only picture is a PNG cover (disposition attached_pic)."""
    cover = path.with_name(f"cover-{path.stem}.png")
    picture = [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x64"]
    run([*picture, "-frames:v", "1", str(cover)])
    tone = f"sine=frequency=440:duration={seconds}"
    inputs = [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", tone, "-i", str(cover)]
    maps = ["-map", "0:a", "-map", "1:v", "-c:a", "aac", "-c:v", "png"]
    run([*inputs, *maps, "-disposition:v:0", "attached_pic", str(path)])
    cover.unlink()
    return path


def top_level_boxes(data: bytes) -> list[tuple[str, int, int]]:
    """``(type, start, end)`` of each top-level ISO-BMFF box, read from the bytes."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:  # runs to the end of the file
            size = len(data) - offset
        if size < 8:
            break
        boxes.append((kind, offset, min(offset + size, len(data))))
        offset += size
    return boxes


# name → (file name, maker). The makers that derive from another clip ask the library for it.
Recipe = Callable[["ClipLibrary", Path], Path]


def _clip(seconds: float = 2, **options: Any) -> Recipe:
    return lambda lib, p: make_clip(p, seconds=seconds, **options)


def _small(seconds: float = 2, **options: Any) -> Recipe:
    """A 320×240 clip: the size most recipes need."""
    return _clip(seconds, width=320, height=240, **options)


RECIPES: dict[str, tuple[str, Recipe]] = {
    # 13 s so that the ladder has two full 6 s segments and a short last one.
    "landscape": ("landscape.mp4", _clip(13)),
    "hd": ("hd.mp4", _clip(width=1280, height=720)),
    "phone": ("phone.mp4", _clip(rotate=90)),
    "portrait": ("portrait.mp4", _clip(width=360, height=640)),
    "no_audio": ("silent.mp4", _clip(audio=False)),
    "odd": ("odd.mp4", _clip(width=321, height=241, pix_fmt="yuv444p")),
    "tiny": ("tiny.mp4", _clip(width=356, height=201, pix_fmt="yuv444p")),
    "vfr": ("vfr.mp4", _small(3, vfr=True)),
    "hevc10": ("hevc10.mp4", _small(codec="libx265", pix_fmt="yuv420p10le")),
    "vp9": ("vp9.webm", _small(codec="libvpx-vp9")),
    "av1": ("av1.mp4", _small(codec="libsvtav1")),
    "long": ("long.mp4", _small(8)),
    "blink": ("blink.mp4", _small(0.4)),
    "faststart": ("faststart.mp4", _small(8, faststart=True)),
    "truncated": ("truncated.mp4", lambda lib, p: make_truncated(p, lib["long"])),
    "truncated_faststart": (
        "truncated-faststart.mp4",
        lambda lib, p: make_truncated(p, lib["faststart"]),
    ),
    "scrambled": ("scrambled.mp4", lambda lib, p: make_scrambled(p, lib["long"])),
    "garbage": ("garbage.mp4", lambda lib, p: make_garbage(p)),
    "text": ("notes.mp4", lambda lib, p: make_text(p)),
    "empty": ("empty.mp4", lambda lib, p: (p.touch(), p)[1]),
    "audio_only": ("voice.m4a", lambda lib, p: make_audio_only(p)),
    "cover_art": ("song.m4a", lambda lib, p: make_cover_art_only(p)),
    # Hostile uploads: tiny files that would cost hours of transcoding (issue 11, item 8).
    # 6 KB, 2 h 41 min: frames at 0 s and 9659 s, each shown a second.
    "two_frames": ("two-frames.mp4", lambda lib, p: make_two_frames(p, 9659)),
    # Tens of KB, 2 h 50 min: a black frame every 5 s (enough frames, far too few bytes).
    "black_hours": (
        "black-hours.mp4",
        lambda lib, p: make_lavfi(p, "color=c=black:size=320x240:rate=0.2:duration=10200"),
    ),
    "fps240": ("fps240.mp4", lambda lib, p: make_lavfi(p, "testsrc2=size=160x120:rate=240:d=2")),
    "8k": ("8k.mp4", lambda lib, p: make_lavfi(p, "color=c=gray:size=7680x4320:rate=1:d=2")),
    # The largest picture accepted: scaled down to the ladder's top rung.
    "4k": ("4k.mp4", lambda lib, p: make_lavfi(p, "testsrc2=size=3840x2160:rate=5:d=2")),
}


class ClipLibrary:
    """``library["phone"]`` is the path of that clip, made the first time it is asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._made:
            file_name, make = RECIPES[name]
            self._made[name] = make(self, self.root / file_name)
        return self._made[name]

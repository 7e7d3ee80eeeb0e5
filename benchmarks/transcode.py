"""How much does the Python around ffmpeg cost, and what does one process for all rungs save?

Run: ``.venv/bin/python benchmarks/transcode.py [--seconds 60]``

Makes a 720p test clip (testsrc2 + sine, x264) in a temporary folder, then times, wall clock:

1. ``transcode()``: our pipeline (probe excluded; it is timed on its own line);
2. the same single ffmpeg command written out by hand below, with no Python around it;
3. one ffmpeg run per output, one after the other: four HLS rungs, the audio-only playlist,
   the MP4 and the poster, each decoding the source again.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lms.media.probe import probe
from lms.media.transcode import build_command, transcode

# (2) The pipeline's command for a 60 s 1280×720 25 fps clip with sound, written out literally:
# ladder 240p/360p/480p/720p, audio-only 64k, 480p MP4, poster at 10 % (6 s) at 720p.
# Shell syntax; {src} and {out} are the blanks, and {poster_at} follows --seconds.
SINGLE = """
ffmpeg -hide_banner -nostdin -nostats -v error
 -protocol_whitelist file -format_whitelist mov,matroska,avi,asf,flv,mpegts,mpeg,ogg,rm,mxf,dv,nut,mp3,wav,aac,flac,amr
 -i file:{src}
 -filter_complex "[0:V:0]fps=25,split=6[s0][s1][s2][s3][s4][s5];[s0]scale=426:240,setsar=1,format=yuv420p[v0];[s1]scale=640:360,setsar=1,format=yuv420p[v1];[s2]scale=854:480,setsar=1,format=yuv420p[v2];[s3]scale=1280:720,setsar=1,format=yuv420p[v3];[s4]scale=854:480,setsar=1,format=yuv420p[download];[s5]select='gte(t,{poster_at})*isnan(prev_selected_t)',setpts=PTS-STARTPTS,scale=1280:720,setsar=1[poster]"
 -map [v0] -map 0:a:0 -map [v1] -map 0:a:0 -map [v2] -map 0:a:0 -map [v3] -map 0:a:0
 -c:v libx264 -preset veryfast -g 150 -sc_threshold 0 -force_key_frames expr:gte(t,n_forced*6)
 -b:v:0 300k -maxrate:v:0 450k -bufsize:v:0 900k -b:v:1 600k -maxrate:v:1 900k -bufsize:v:1 1800k
 -b:v:2 1000k -maxrate:v:2 1500k -bufsize:v:2 3000k -b:v:3 2200k -maxrate:v:3 3300k -bufsize:v:3 6600k
 -c:a aac -ac 2 -b:a:0 64k -b:a:1 96k -b:a:2 96k -b:a:3 128k
 -map_metadata -1 -map_chapters -1 -max_muxing_queue_size 4096
 -f hls -hls_time 6 -hls_playlist_type vod -hls_flags independent_segments -hls_segment_type mpegts
 -hls_segment_filename {out}/%v/seg_%05d.ts -master_pl_name master.m3u8
 -var_stream_map "v:0,a:0,name:v0 v:1,a:1,name:v1 v:2,a:2,name:v2 v:3,a:3,name:v3" {out}/%v/index.m3u8
 -map 0:a:0 -c:a aac -ac 2 -b:a 64k -map_metadata -1 -map_chapters -1 -max_muxing_queue_size 4096
 -f hls -hls_time 6 -hls_playlist_type vod -hls_flags independent_segments -hls_segment_type mpegts
 -hls_segment_filename {out}/audio/seg_%05d.ts {out}/audio/index.m3u8
 -map [download] -map 0:a:0 -c:v libx264 -preset veryfast -g 150 -sc_threshold 0 -force_key_frames expr:gte(t,n_forced*6)
 -b:v:0 1000k -maxrate:v:0 1500k -bufsize:v:0 3000k -c:a aac -ac 2 -b:a 96k
 -map_metadata -1 -map_chapters -1 -max_muxing_queue_size 4096 -movflags +faststart {out}/download.mp4
 -map [poster] -frames:v 1 -update 1 -q:v 3 -map_metadata -1 -map_chapters -1 -max_muxing_queue_size 4096
 {out}/poster.jpg
"""

# (3) One run per output. Each decodes the whole source again.
_IN = "ffmpeg -hide_banner -nostdin -nostats -v error -i file:{src}"
_X264 = (
    "-c:v libx264 -preset veryfast -g 150 -sc_threshold 0 -force_key_frames expr:gte(t,n_forced*6)"
)
_HLS = "-f hls -hls_time 6 -hls_playlist_type vod -hls_flags independent_segments"
_RUNG = (
    _IN
    + " -map 0:V:0 -map 0:a:0 -vf fps=25,scale={w}:{h},setsar=1,format=yuv420p "
    + _X264
    + " -b:v {kbps}k -maxrate {max}k -bufsize {buf}k -c:a aac -ac 2 -b:a {akbps}k "
    + _HLS
    + " -hls_segment_filename {out}/{name}/seg_%05d.ts {out}/{name}/index.m3u8"
)
SEPARATE = [
    _RUNG.format(w=426, h=240, kbps=300, max=450, buf=900, akbps=64, name="v0", src="{src}", out="{out}"),
    _RUNG.format(w=640, h=360, kbps=600, max=900, buf=1800, akbps=96, name="v1", src="{src}", out="{out}"),
    _RUNG.format(w=854, h=480, kbps=1000, max=1500, buf=3000, akbps=96, name="v2", src="{src}", out="{out}"),
    _RUNG.format(w=1280, h=720, kbps=2200, max=3300, buf=6600, akbps=128, name="v3", src="{src}", out="{out}"),
    _IN + " -map 0:a:0 -c:a aac -ac 2 -b:a 64k " + _HLS
    + " -hls_segment_filename {out}/audio/seg_%05d.ts {out}/audio/index.m3u8",
    _IN + " -map 0:V:0 -map 0:a:0 -vf fps=25,scale=854:480,setsar=1,format=yuv420p " + _X264
    + " -b:v 1000k -maxrate 1500k -bufsize 3000k -c:a aac -ac 2 -b:a 96k -movflags +faststart {out}/download.mp4",
    "ffmpeg -hide_banner -nostdin -nostats -v error -ss {poster_at} -i file:{src}"
    " -map 0:V:0 -vf scale=1280:720,setsar=1 -frames:v 1 -update 1 -q:v 3 {out}/poster.jpg",
]  # fmt: skip


def argv(template: str, **blanks: object) -> list[str]:
    """A command template, in shell syntax, as an argument list with the blanks filled."""
    return [word.format(**blanks) for word in shlex.split(template)]


def make_source(path: Path, seconds: int) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi"]
        + ["-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}"]
        + ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        + ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
        + ["-c:a", "aac", "-b:a", "128k", "-shortest", str(path)],
        check=True,
    )


def fresh(root: Path, name: str, *subfolders: str) -> Path:
    """An empty output folder, with the subfolders ffmpeg will not create itself."""
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    for sub in ("", *subfolders):
        (folder / sub).mkdir()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the test clip")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each, in rotating order; the best counts"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lms-bench-") as temporary:
        root = Path(temporary).resolve()
        source = root / "source.mp4"
        print(f"making a {args.seconds} s 1280x720 25 fps clip with sound …", flush=True)
        make_source(source, args.seconds)
        # 10 % in, or 1 s (at most the middle) for clips under 10 s, as the pipeline does.
        poster_at = 0.1 * args.seconds if args.seconds >= 10 else min(1.0, args.seconds / 2)
        blanks = {"src": source, "poster_at": round(poster_at, 3)}

        start = time.perf_counter()
        info = probe(source, max_duration_s=10 * args.seconds)
        probe_s = time.perf_counter() - start

        ours = build_command(source, root / "single", info)
        at = ours.index("-progress")
        equivalent = ours[:at] + ours[at + 2 :] == argv(SINGLE, out=root / "single", **blanks)

        def pipeline() -> None:
            transcode(source, fresh(root, "pipeline"), info)

        def single() -> None:
            out = fresh(root, "single", "audio")
            subprocess.run(argv(SINGLE, out=out, **blanks), check=True)

        def separate() -> None:
            out = fresh(root, "separate", "audio", "v0", "v1", "v2", "v3")
            for template in SEPARATE:
                subprocess.run(argv(template, out=out, **blanks), check=True)

        runs = [pipeline, single, separate]
        best = dict.fromkeys(runs, math.inf)
        for round_ in range(args.repeat):
            for run in runs[round_ % 3 :] + runs[: round_ % 3]:
                start = time.perf_counter()
                run()
                best[run] = min(best[run], time.perf_counter() - start)

        same = sorted(p.relative_to(root / "pipeline") for p in (root / "pipeline").rglob("*"))
        literal = sorted(p.relative_to(root / "single") for p in (root / "single").rglob("*"))

    print()
    print(f"clip: {args.seconds} s 1280x720 25 fps, {os.cpu_count()} CPU(s); probe {probe_s:.2f} s")
    print(f"best of {args.repeat} run(s) each, load average now {os.getloadavg()[0]:.2f}")
    print(f"literal command = build_command() without -progress: {equivalent}")
    print(f"pipeline and literal command wrote the same files: {same == literal}")
    print()
    print(f"{'run':<44}{'wall s':>8}{'vs (2)':>8}{'x realtime':>12}")
    rows = [
        ("(1) transcode() (one ffmpeg + Python)", best[pipeline]),
        ("(2) same single ffmpeg command, literal", best[single]),
        ("(3) one ffmpeg per output, sequential (7)", best[separate]),
    ]
    for label, seconds in rows:
        ratio = seconds / best[single]
        print(f"{label:<44}{seconds:>8.2f}{ratio:>8.2f}{args.seconds / seconds:>12.2f}")


if __name__ == "__main__":
    main()

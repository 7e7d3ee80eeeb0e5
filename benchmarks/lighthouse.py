"""Lighthouse (npm, `benchmarks/lighthouse/`) on the home page, the catalogue, a course page and a
lesson page of the quick start, with Debian's /usr/bin/chromium and Lighthouse's default mobile
preset (a mid-range phone on slow 4G, simulated): the performance, accessibility and
best-practices scores of each page, and its transfer size as Lighthouse counts it. Pages are
seen as the demo resident 王芳 (13700000001) sees them, signed in: lessons are for enrolled
residents.

    .venv/bin/python benchmarks/lighthouse.py [--checkout DIR] [--runs 1] [--json OUT]

It starts the site exactly as a newcomer does, `bash .ci/start` of the checkout (default: this
one; give another, e.g. an export of an older commit, to compare), on a free port with its own
instance and media folders in a temporary directory, so the demo county is loaded fresh and the
worker transcodes the demo's videos; it waits for the demo's first video lesson to be ready (at
most 7 minutes) and picks it as the lesson page (a text lesson when the demo has no video). The
course page is that lesson's course. Lighthouse's npm packages are installed from the lock on
first run (`npm ci`). Scores vary from run to run on a loaded machine; `--runs 3` reports the
median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "benchmarks" / "lighthouse"
LIGHTHOUSE = PACKAGE / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def install() -> None:
    stamp = PACKAGE / "node_modules" / ".lms-installed"
    lock = (PACKAGE / "package-lock.json").read_bytes()
    import hashlib

    digest = hashlib.sha256(lock).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest and LIGHTHOUSE.exists():
        return
    print("installing Lighthouse from benchmarks/lighthouse/package-lock.json (npm ci) …")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PACKAGE, check=True
    )
    stamp.write_text(digest)


_opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def get(url: str) -> str:
    with _opener.open(url, timeout=30) as response:
        return response.read().decode()


def sign_in(base: str) -> str:
    """Sign in as the demo resident; the Cookie header that carries the session."""
    form = get(base + "/sign-in")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(
        {"phone": "13700000001", "password": "Luxian@2026", "csrf_token": token}
    ).encode()
    with _opener.open(base + "/sign-in", data=body, timeout=30):
        pass
    jar = next(h for h in _opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar.cookiejar)


def start(checkout: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        LMS_INSTANCE_DIR=str(workdir / "instance"),
        LMS_MEDIA_DIR=str(workdir / "media"),
        LMS_PORT=str(port),
        # The checkout's own code, whichever virtual environment runs it.
        PYTHONPATH=str(checkout),
    )
    if not (checkout / ".venv").exists():
        (checkout / ".venv").symlink_to(ROOT / ".venv")
    log = open(workdir / "start.log", "w")  # noqa: SIM115 (kept open while the site runs)
    process = subprocess.Popen(
        ["bash", ".ci/start"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the site stopped:\n" + (workdir / "start.log").read_text()[-3000:])
        try:
            get(base + "/")
            return process, base
        except OSError:
            time.sleep(1)
    raise SystemExit("the site did not answer within 15 minutes")


def pick_pages(base: str) -> dict[str, str]:
    """Home, catalogue, the course of the demo's first video lesson (or its first course) and
    that lesson."""
    catalogue = get(base + "/courses")
    course_paths = list(dict.fromkeys(re.findall(r'href="(/courses/\d+)"', catalogue)))
    deadline = time.monotonic() + 420
    first_text = None
    while True:
        for course_path in course_paths:
            for lesson_path in dict.fromkeys(
                re.findall(r'href="(/lessons/\d+)"', get(base + course_path))
            ):
                page = get(base + lesson_path)
                if "data-player" in page:
                    return _pages(base, course_path, lesson_path)
                is_lesson = 'id="lesson-title"' in page  # not sent back to the course page
                if is_lesson and "<video" not in page and first_text is None:
                    first_text = (course_path, lesson_path)
        pending = any(
            "player-pending" in get(base + lesson)
            for course_path in course_paths
            for lesson in set(re.findall(r'href="(/lessons/\d+)"', get(base + course_path)))
        )
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(5)  # the worker is still transcoding the demo's videos
    if first_text is None:
        raise SystemExit("no lesson found")
    return _pages(base, *first_text)


def _pages(base: str, course_path: str, lesson_path: str) -> dict[str, str]:
    return {
        "home": base + "/",
        "catalogue": base + "/courses",
        "course": base + course_path,
        "lesson": base + lesson_path,
    }


def lighthouse(url: str, out: Path, cookie: str) -> dict[str, float]:
    env = dict(os.environ, CHROME_PATH=CHROMIUM)
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--only-categories={','.join(CATEGORIES)}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run",
            "--locale=zh",
            "--extra-headers=" + json.dumps({"Cookie": cookie}),
        ],
        env=env,
        check=True,
    )
    report = json.loads(out.read_text())
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    scores["kb"] = round(report["audits"]["total-byte-weight"]["numericValue"] / 1024)
    failing = [
        audit_id
        for name in CATEGORIES
        for ref in report["categories"][name]["auditRefs"]
        if ref["weight"] > 0
        and (audit_id := ref["id"])
        and report["audits"][audit_id]["score"] is not None
        and report["audits"][audit_id]["score"] < 0.9
    ]
    scores["below_0.9"] = failing
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    install()
    workdir = Path(tempfile.mkdtemp(prefix="lms-lighthouse-"))
    process = None
    try:
        process, base = start(args.checkout.resolve(), workdir)
        cookie = sign_in(base)
        pages = pick_pages(base)
        results = {}
        print(f"{'page':<10} {'perf':>5} {'a11y':>5} {'best':>5} {'KiB':>6}  {'path'}")
        for name, url in pages.items():
            runs = [lighthouse(url, workdir / f"{name}-{n}.json", cookie) for n in range(args.runs)]
            median = {
                key: statistics.median(run[key] for run in runs) for key in (*CATEGORIES, "kb")
            }
            median["below_0.9"] = sorted({a for run in runs for a in run["below_0.9"]})
            results[name] = median
            print(
                f"{name:<10} {median['performance']:>5.0f} {median['accessibility']:>5.0f} "
                f"{median['best-practices']:>5.0f} {median['kb']:>6.0f}  "
                f"{url.removeprefix(base)}"
                + (
                    f"  (below 0.9: {', '.join(median['below_0.9'])})"
                    if median["below_0.9"]
                    else ""
                )
            )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

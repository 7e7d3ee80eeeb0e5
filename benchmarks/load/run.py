"""The load test: the deployment of deploy/ on loopback (tests/deploy/stack.py: nginx, two
gunicorn app servers, two workers on Redis, PostgreSQL), a course with a video lesson, then
Locust (locustfile.py) with more and more simultaneous residents until the heartbeats' or any
request's p95 passes 500 ms or a request fails. Prints each step's figures and the CPU each part
used (app servers, PostgreSQL, nginx, Redis, workers, Locust itself).

    .venv/bin/python benchmarks/load/run.py [--steps 100,200,400,800] [--seconds 60] [--arrivals 5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:55445/lms_test]

Without --database-url it starts a throwaway PostgreSQL cluster on port 55445 (like .ci/run).
Needs nginx and redis-server (bash .ci/setup --test)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.deploy.stack import Stack  # noqa: E402
from tests.media.clips import make_clip  # noqa: E402

LIMIT_MS = 500


@contextmanager
def postgres(port: int):
    pgbin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="lms-load-pg."))
    as_pg = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    run = lambda *command: subprocess.run([*as_pg, *command], check=True, capture_output=True)  # noqa: E731
    run(f"{pgbin}/initdb", "-D", f"{folder}/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--locale=C.UTF-8")  # fmt: skip
    run(f"{pgbin}/pg_ctl", "-D", f"{folder}/data", "-l", f"{folder}/log", "-w", "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200", "start")  # fmt: skip
    try:
        subprocess.run([f"{pgbin}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "-qc", "CREATE DATABASE lms_test"], check=True)  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/lms_test"
    finally:
        run(f"{pgbin}/pg_ctl", "-D", f"{folder}/data", "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def token(base: str, person: dict) -> dict[str, str]:
    answer = requests.post(f"{base}/api/v1/auth/tokens", json=person, timeout=60)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def video_course(stack: Stack, folder: Path) -> dict:
    """A published, certified course with one transcoded video lesson, made through nginx."""
    base = stack.url
    login = {key: stack.people["teacher"][key] for key in ("phone", "password")}
    teacher = token(base, login)
    registrar = token(base, {key: stack.people["registrar"][key] for key in ("phone", "password")})
    course = requests.post(
        f"{base}/api/v1/courses",
        json={
            "title": "高血压防治与合理用药",
            "summary": "讲座",
            "category": "健康养生",
            "hours": "1",
        },
        headers=teacher,
        timeout=60,
    ).json()["id"]
    data = make_clip(folder / "clip.mp4", seconds=3, width=640, height=360).read_bytes()
    upload = requests.post(
        f"{base}/api/v1/uploads",
        json={"filename": "讲座.mp4", "size": len(data)},
        headers=teacher,
        timeout=60,
    ).json()
    requests.patch(
        f"{base}{upload['upload_url']}",
        data=data,
        headers={
            **teacher,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=60,
    ).raise_for_status()
    media = requests.post(f"{base}{upload['upload_url']}/complete", headers=teacher, timeout=60)
    media_id = media.json()["media"]["id"]
    for _ in range(600):
        status = requests.get(f"{base}/api/v1/media/{media_id}", headers=teacher, timeout=60)
        if status.json()["status"] == "ready":
            break
        time.sleep(0.5)
    lesson = requests.post(
        f"{base}/api/v1/courses/{course}/lessons",
        json={"title": "第一讲", "kind": "video", "media_id": media_id},
        headers=teacher,
        timeout=60,
    ).json()["id"]
    requests.post(f"{base}/api/v1/courses/{course}/publish", headers=teacher, timeout=60)
    requests.post(
        f"{base}/api/v1/courses/{course}/hours/certify",
        json={"hours": "1", "reason": "讲座配套线下答疑"},
        headers=registrar,
        timeout=60,
    )
    return {"course_id": course, "lesson_id": lesson}


def arrive(stack: Stack, residents: list[dict], course_id: int) -> list[str]:
    """Every resident signs in (a real argon2 check) and enrols, four at a time; prints the
    sign-in latency and the app servers' CPU per sign-in."""
    from concurrent.futures import ThreadPoolExecutor

    def one(person: dict) -> tuple[str, float]:
        started = time.monotonic()
        headers = token(stack.url, {"phone": person["phone"], "password": person["password"]})
        took = time.monotonic() - started
        requests.put(
            f"{stack.url}/api/v1/courses/{course_id}/enrolment", headers=headers, timeout=60
        ).raise_for_status()
        return headers["Authorization"].removeprefix("Bearer "), took

    apps = {"app servers": [stack.processes[name].pid for name in ("web1", "web2")]}
    before, wall = cpu_seconds(apps), time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(one, residents))
    elapsed, used = (
        time.monotonic() - wall,
        cpu_seconds(apps)["app servers"] - before["app servers"],
    )
    times = sorted(took for _, took in done)
    print(
        f"{len(done)} sign-ins and enrolments, 4 at a time: {len(done) / elapsed:.1f}/s, sign-in "
        f"p50 {times[len(times) // 2] * 1000:.0f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.0f}"
        f" ms; app servers' CPU {used / len(done) * 1000:.0f} ms per sign-in and enrolment"
    )
    return [value for value, _ in done]


def warm_up(stack: Stack, token_value: str, course: dict) -> None:
    """Each app server process loads its templates, search dictionary and searcher once before
    the figures count (a running site has done so long before the evening peak)."""
    headers = {"Authorization": f"Bearer {token_value}"}
    for web in stack.web_urls:
        for _ in range(4 * stack.web_processes):
            requests.get(f"{web}/courses", headers=headers, timeout=120)
            requests.get(
                f"{web}/api/v1/search", params={"q": "高血压"}, headers=headers, timeout=120
            )
            requests.get(
                f"{web}/api/v1/lessons/{course['lesson_id']}", headers=headers, timeout=120
            )


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """User + system CPU seconds of each group's processes and their children so far."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {}
    for group, roots in pids.items():
        total = 0.0
        for pid in _tree(roots):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        totals[group] = total
    return totals


def _tree(roots: list[int]) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except OSError:
                continue
    found = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        grew = bool(more)
        found |= more
    return found


def postgres_pids(port: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "postgres" in command and f"-p {port}" in command:
                pids.append(int(entry.name))
    return pids


def step(
    stack: Stack,
    users: int,
    seconds: int,
    data_file: Path,
    folder: Path,
    pg_port: int,
    arrivals: float,
):
    prefix = folder / f"step-{users}"
    groups = {
        "app servers": [stack.processes[name].pid for name in ("web1", "web2")],
        "workers": list(stack.worker_pids().values()),
        "nginx": [stack.processes["nginx"].pid],
        "redis": [stack.processes["redis"].pid],
        "postgresql": postgres_pids(pg_port),
    }
    # Residents arrive at the same pace at every step: each arrival browses (catalogue, search,
    # the lesson: 100-300 ms of app CPU each) before watching, so arriving faster measures a
    # crowd coming in at once, not how many can watch.
    ramp = users / arrivals
    locust = subprocess.Popen(
        [
            sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
            "--headless", "--host", stack.url, "-u", str(users), "-r", str(arrivals),
            "-t", f"{int(ramp + seconds)}s", "--reset-stats", "--csv", str(prefix),
            "--only-summary", "--loglevel", "WARNING",
        ],
        env={**os.environ, "LMS_LOAD_DATA": str(data_file), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    time.sleep(ramp)
    watched = {**groups, "locust": [locust.pid]}
    before, wall = cpu_seconds(watched), time.monotonic()
    time.sleep(max(1, seconds - 3))  # the steady part, while every viewer watches
    after, elapsed = cpu_seconds(watched), time.monotonic() - wall
    used = {group: after[group] - before[group] for group in before}
    stderr = locust.communicate()[1]
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))  # noqa: SIM115
    return rows, used, elapsed, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="100,200,400,800")
    parser.add_argument("--seconds", type=int, default=60, help="steady time per step")
    parser.add_argument("--database-url")
    parser.add_argument("--pg-port", type=int, default=55445)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument(
        "--arrivals", type=float, default=5, help="residents arriving per second at each step"
    )
    options = parser.parse_args()
    steps = [int(value) for value in options.steps.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="lms-load-"))
    with (
        postgres(options.pg_port)
        if not options.database_url
        else _given(options.database_url) as url
    ):
        stack = Stack(
            folder / "stack",
            url,
            residents=max(steps),
            web_processes=options.web_processes,
            web_threads=options.web_threads,
        )
        try:
            stack.start()
            print(f"deployment started in {stack.started_in:.0f} s at {stack.url}")
            course = video_course(stack, folder)
            tokens = arrive(stack, stack.people["residents"], course["course_id"])
            data = {"tokens": tokens, **course}
            warm_up(stack, tokens[0], course)
            data_file = folder / "data.json"
            data_file.write_text(json.dumps(data, ensure_ascii=False))
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            held = 0
            for users in steps:
                rows, used, elapsed, stderr = step(
                    stack, users, options.seconds, data_file, folder, port, options.arrivals
                )
                report(users, rows, used, elapsed)
                total = next(row for row in rows if row["Name"] == "Aggregated")
                watching = [row for row in rows if row["Name"] != "Aggregated"]
                worst = max((float(row["95%"] or 0) for row in watching), default=0)
                if int(total["Failure Count"]) or worst >= LIMIT_MS:
                    print(f"  -> over the limit at {users} viewers ({stderr.strip()[-300:]})")
                    break
                held = users
            print(
                f"held: {held} simultaneous viewers with p95 < {LIMIT_MS} ms for every request "
                "they make while watching, and no failure"
            )
        finally:
            stack.close()
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _given(url: str):
    yield url


def report(users: int, rows: list[dict], used: dict[str, float], elapsed: float) -> None:
    total = next(row for row in rows if row["Name"] == "Aggregated")
    print(
        f"\n{users} viewers: {float(total['Requests/s']):.1f} req/s, "
        f"{total['Request Count']} requests, {total['Failure Count']} failures, "
        f"p50 {total['50%']} ms, p95 {total['95%']} ms, p99 {total['99%']} ms"
    )
    for row in rows:
        if row["Name"] != "Aggregated":
            print(
                f"  {row['Name']:<24} {row['Request Count']:>7} req  p50 {row['50%']:>5} ms  "
                f"p95 {row['95%']:>5} ms  p99 {row['99%']:>5} ms  failures {row['Failure Count']}"
            )
    cores = " ".join(f"{group} {seconds / elapsed:.2f}" for group, seconds in used.items())
    print(f"  CPU (cores busy over {elapsed:.0f} s of steady load): {cores}")
    rate = float(total["Requests/s"]) or 1
    print(
        "  CPU per request: "
        + " ".join(
            f"{group} {seconds / elapsed / rate * 1000:.1f} ms" for group, seconds in used.items()
        )
    )


if __name__ == "__main__":
    main()

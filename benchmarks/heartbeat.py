"""Heartbeat throughput: requests/s and p50/p99 latency of POST /api/v1/lessons/<id>/progress at
50 and 200 concurrent simulated viewers, against gunicorn on loopback, next to a bare Flask JSON
endpoint under the same server (the floor).

    .venv/bin/python benchmarks/heartbeat.py [--seconds 10] [--database-url postgresql+psycopg://…]
        [--processes N (default: one per core)] [--threads 4]

Needs wrk (Debian package `wrk`). Measuring starts once every gunicorn process has loaded the
application (benchmarks/gunicorn_ready.py). Every viewer has its own account, token and visit.
Each wrk thread has its own slice of the viewers (``setup(thread)`` gives it an id; the thread
takes every viewer whose index is its id modulo the thread count) and rotates through that
slice, so two threads never send the same viewer's heartbeat. Inside a thread there are as many
viewers as connections: a viewer is sent again after a full round, sometimes before its
previous answer has come (as from two tabs; both must be answered). Each viewer's played
interval carries on where its previous one ended, ten seconds at a time, starting again at 0 at
the end of the lesson: far faster than real time, so the watch-time bucket credits each
heartbeat a small new piece and a resident's record grows by one piece per heartbeat (the
costliest pattern for the server; real viewing keeps one piece). However little is credited,
the answer must be a 200 (anything else is counted as an error)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATION_S = 7200  # the benchmark's video lesson


def gunicorn(processes: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        str(processes),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        "-c",
        str(ROOT / "benchmarks" / "gunicorn_ready.py"),
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(env: dict[str, str], viewers: int) -> tuple[int, list[tuple[str, int]], str]:
    """A course with one video lesson and *viewers* enrolled residents, each with a visit.
    Returns the lesson id, (token, visit id) per viewer, and the teacher's token."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from lms import create_app
    from lms.accounts import operations as accounts
    from lms.accounts.models import Level, Role
    from lms.courses import operations as courses
    from lms.courses.models import LessonKind
    from lms.extensions import db
    from lms.learning import operations as learning

    app = create_app({"LMS_ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}})
    with app.app_context():
        upgrade()
        county = accounts.create_org_unit(
            name="泸县", code="510521", level=Level.COUNTY, parent=None
        )
        town = accounts.create_org_unit(
            name="福集镇", code="510521001", level=Level.TOWN, parent=county
        )
        village = accounts.create_org_unit(
            name="青龙村", code="510521001001", level=Level.VILLAGE, parent=town
        )
        teacher = accounts.create_user(
            phone="13900000001",
            name="老师",
            password="Bench#2026x",
            org_unit=town,
            roles=(Role.RESIDENT, Role.TEACHER),
        )
        category = courses.create_category("农村实用技术")
        course = courses.create_course(
            teacher, title="压测课程", summary="", category=category, hours=2
        )
        lesson = courses.add_lesson(
            course, title="视频", kind=LessonKind.VIDEO, duration_s=DURATION_S
        )
        courses.publish_course(course)
        out = []
        for number in range(viewers):
            user = accounts.create_user(
                phone=f"137{number:08d}",
                name=f"居民{number}",
                password="Bench#2026x",
                org_unit=village,
            )
            learning.enrol(user, course)
            token, _row = accounts.issue_token(user)
            visit = learning.start_visit(user, lesson)
            out.append((token, visit.id))
        teacher_token, _row = accounts.issue_token(teacher)
        db.session.commit()
        return lesson.id, out, teacher_token


LUA = """
local viewers = %(viewers)s
local threads = %(threads)d
local duration = %(duration)d

-- Main state: number the threads. Each thread runs its own Lua state, where `id` is set.
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local mine, positions, turn = {}, {}, 0
function init(args)
  for index = 1, #viewers do
    if (index - 1) %% threads == id then
      mine[#mine + 1] = viewers[index]
      positions[#mine] = 0
    end
  end
end

function request()
  turn = turn %% #mine + 1
  local v, t = mine[turn], positions[turn]
  positions[turn] = (t + 10) %% duration
  local body = '{"visit_id": ' .. v[2] .. ', "position_s": ' .. (t + 10) ..
               ', "segments": [[' .. t .. ', ' .. (t + 10) .. ']], "rate": 1}'
  return wrk.format("POST", "%(path)s", {["Authorization"] = "Bearer " .. v[1],
                    ["Content-Type"] = "application/json"}, body)
end
"""


def run_wrk(
    url: str, path: str, viewers: list[tuple[str, int]], connections: int, seconds: int
) -> dict[str, float]:
    lua_viewers = "{" + ", ".join(f'{{"{token}", {visit}}}' for token, visit in viewers) + "}"
    threads = min(connections, 2)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            LUA % {"viewers": lua_viewers, "path": path, "threads": threads, "duration": DURATION_S}
        )
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    return {
        "rps": rps,
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def serve(
    target: str, env: dict[str, str], port: int, processes: int, threads: int
) -> subprocess.Popen:
    """gunicorn serving *target* on *port*, once every one of its workers has loaded it."""
    ready = Path(tempfile.mkdtemp(prefix="lms-bench-ready-"))
    process = subprocess.Popen(
        [*gunicorn(processes, threads), "-b", f"127.0.0.1:{port}", target],
        cwd=ROOT,
        env={**os.environ, **env, "LMS_BENCH_READY_DIR": str(ready)},
    )
    deadline = time.monotonic() + 120  # a busy machine starts four workers slowly
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("gunicorn stopped")
            if len(list(ready.iterdir())) >= processes:
                return process
            time.sleep(0.2)
        process.kill()
        raise RuntimeError("gunicorn did not start")
    finally:
        shutil.rmtree(ready, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--database-url", help="default: SQLite in a temporary instance folder")
    parser.add_argument("--viewers", type=int, nargs="+", default=[50, 200], choices=[50, 200])
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn processes (default: one per core, as deploy/lms.env.template advises)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    instance = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    env = {
        "LMS_INSTANCE_DIR": str(instance),
        "LMS_MEDIA_DIR": str(instance / "media"),
        "LMS_SECRET_KEY": "benchmark",
    }
    if args.database_url:
        env["LMS_DATABASE_URL"] = args.database_url
    lesson_id, viewers, _teacher = prepare(env, 200)
    path = f"/api/v1/lessons/{lesson_id}/progress"
    database = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(
        f"gunicorn gthread {args.processes} processes × {args.threads} threads, {database}, "
        f"{args.seconds} s per run, loopback"
    )
    print(f"{'endpoint':<22}{'viewers':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    results = {}
    for name, target in (
        ("heartbeat (lms)", "lms:create_app()"),
        ("bare Flask (floor)", "benchmarks.floor:app"),
    ):
        port = free_port()
        server = serve(target, env, port, args.processes, args.threads)
        try:
            for connections in args.viewers:
                figures = run_wrk(
                    f"http://127.0.0.1:{port}",
                    path,
                    viewers[:connections],
                    connections,
                    args.seconds,
                )
                results[(name, connections)] = figures
                print(
                    f"{name:<22}{connections:>8}{figures['rps']:>10.0f}{figures['p50']:>9.1f}"
                    f"{figures['p99']:>9.1f}{figures['errors']:>8}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    for connections in args.viewers:
        ours, floor = (
            results[("heartbeat (lms)", connections)],
            results[("bare Flask (floor)", connections)],
        )
        print(
            f"{connections} viewers: lms reaches {ours['rps'] / floor['rps']:.0%} of the floor's "
            f"req/s; p50 ×{ours['p50'] / floor['p50']:.1f}"
        )
    shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()

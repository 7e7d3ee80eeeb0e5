"""Credit bank benchmarks: a 200-outcome transcript, a 5,000-record learning file, and posting
10,000 outcomes to the ledger.

    .venv/bin/python -m benchmarks.credits [--only pdf|file|post] [--database-url URL]

pdf   a resident with 200 certified outcomes (online courses completed through the learning
      feature, offline outcomes certified by a registrar): issue_transcript + commit, then the
      PDF (median/max of 5 renderings, size, pages) and the size of the signed JSON.
file  a resident whose learning file holds 5,000+ records: GET /me/learning-file (all, and
      one year's credits), the whole file as PDF and as xAPI, through the Flask test client;
      plus a cProfile of one page.
post  100 residents and 10,000 pending offline outcomes: certify_outcome with a commit after
      each (as the web request does), then 10,000 raw post_entry calls, then verify_ledger;
      optionally 4 threads certifying at once.

Setup rows that are only context (courses, lessons, enrolments, lesson progress, pending
outcomes) are bulk-inserted with SQLAlchemy core; every ledger entry is posted through
``lms.credits.operations``, so the hash chains are real. ``--database-url`` applies to every
section (default: a SQLite file in a temporary instance folder); on PostgreSQL the database must
be empty, each section creates the tables and drops them again at its end.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import json
import math
import os
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from flask import Flask
from pypdf import PdfReader
from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from lms import create_app
from lms.accounts import operations as accounts
from lms.accounts.models import Level, OrgUnit, Role, User
from lms.core.errors import OperationError
from lms.core.time import local, utcnow
from lms.courses import operations as courses
from lms.courses.models import Course, CourseStatus, Lesson, LessonKind
from lms.credits import checks, documents, operations
from lms.credits.models import (
    CreditAccount,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    OutcomeStatus,
    Transcript,
)
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning.models import Enrolment, LessonProgress
from lms.records.learning_file import ItemKind, build

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench#2026x"
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
OFFLINE = OutcomeKind.offline()
TOPICS = [
    "生猪科学养殖技术",
    "柑橘病虫害绿色防控",
    "农村电商直播带货",
    "老年人智能手机使用",
    "家庭急救与心肺复苏",
    "民法典与农村土地承包",
    "川南传统竹编工艺",
    "高血压糖尿病的日常管理",
    "稻渔综合种养",
    "乡村旅游与民宿经营",
    "防范电信网络诈骗",
    "泸州油纸伞制作",
]
ISSUERS = ["福集镇志愿者协会", "泸县人力资源和社会保障局", "嘉明镇文化站", "泸县农业农村局"]
_phones = itertools.count(1)


# Plumbing ------------------------------------------------------------------------------------


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def kib(size: int) -> str:
    return f"{size:,} bytes ({size / 1024:,.1f} KiB)"


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


def summary(values: list[float]) -> str:
    return (
        f"median {ms(statistics.median(values))}, p95 {ms(nearest_rank(values, 0.95))}, "
        f"max {ms(max(values))} ({len(values)} runs)"
    )


def make_app(folder: Path, database_url: str | None, **overrides) -> Flask:
    config = {
        "TESTING": True,
        "LMS_INSTANCE_DIR": str(folder / "instance"),
        "LMS_MEDIA_DIR": str(folder / "media"),
        "LMS_SEARCH_DIR": str(folder / "search"),
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{folder / 'bench.sqlite3'}",
        "LMS_QUEUE_IMMEDIATE": True,
        "WTF_CSRF_ENABLED": False,
        "LMS_ARGON2": CHEAP_ARGON2,
        "SECRET_KEY": "benchmark",
    }
    config.update(overrides)
    return create_app(config)


@contextlib.contextmanager
def fresh_database(app: Flask) -> Iterator[None]:
    """Create the tables (the database must be empty); drop them again at the end unless the
    database is the throwaway SQLite file."""
    with app.app_context():
        existing = inspect(db.engine).get_table_names()
        if existing:
            sys.exit(
                f"{db.engine.url.render_as_string(hide_password=True)} is not empty "
                f"({len(existing)} tables, e.g. {existing[0]}): use an empty database"
            )
        db.create_all()
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
            if db.engine.dialect.name != "sqlite":
                db.drop_all()
            db.engine.dispose()


@contextlib.contextmanager
def statements_counted() -> Iterator[list[int]]:
    """Count the SQL statements sent while the block runs (on the current app's engine)."""
    counter = [0]

    def count(*_args, **_kwargs) -> None:
        counter[0] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def profile_report(profiler: cProfile.Profile, *, top: int) -> None:
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    prefixes = sorted({str(ROOT) + "/", *(p + "/" for p in sys.path if p)}, key=len, reverse=True)

    def where(key: tuple[str, int, str]) -> str:
        file, line, name = key
        for prefix in prefixes:
            if file.startswith(prefix):
                file = file[len(prefix) :]
                break
        return f"{file}:{line}({name})" if line else name

    def table(title: str, rows) -> None:
        print(f"  {title}")
        print(f"    {'cumulative':>11} {'own':>10} {'calls':>8}  function")
        for key, (_cc, calls, own, cumulative, _callers) in rows[:top]:
            print(f"    {ms(cumulative):>11} {ms(own):>10} {calls:>8,}  {where(key)}")

    ordered = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)
    table(f"top {top} by cumulative time", ordered)
    ours = [kv for kv in ordered if kv[0][0].startswith(str(ROOT / "lms"))]
    table(f"top {top} of lms/ by cumulative time", ours)
    table(
        f"top {top} by own time",
        sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True),
    )


# Builders ------------------------------------------------------------------------------------


class World:
    """A county with one town and its villages, a county registrar and a teacher."""

    def __init__(self, villages: int = 2) -> None:
        self.county = accounts.create_org_unit(
            name="泸县", code="510521", level=Level.COUNTY, parent=None, population=1000
        )
        self.town = accounts.create_org_unit(
            name="福集镇", code="510521001", level=Level.TOWN, parent=self.county, population=400
        )
        self.villages = [
            accounts.create_org_unit(
                name=f"福集镇{number}村",
                code=f"510521001{number:03d}",
                level=Level.VILLAGE,
                parent=self.town,
                population=200,
            )
            for number in range(1, villages + 1)
        ]
        self.registrar = person("县专员", self.county, Role.REGISTRAR)
        self.teacher = person("李老师", self.town, Role.TEACHER)
        self.category = courses.create_category("农村实用技术")
        db.session.commit()


def person(name: str, unit: OrgUnit, *roles: Role) -> User:
    return accounts.create_user(
        phone=f"136{next(_phones):08d}",
        name=name,
        password=PASSWORD,
        org_unit=unit,
        roles=(Role.RESIDENT, *roles),
    )


def bulk_courses(
    world: World, rng: random.Random, count: int, lessons: int, *, video_share: float = 0.0
) -> list[tuple[int, list[tuple[int, bool]]]]:
    """*count* published courses of *lessons* required lessons each (core inserts). Returns
    (course id, [(lesson id, is video)]) per course."""
    now = utcnow()
    first = (db.session.scalar(select(func.max(Course.id))) or 0) + 1
    db.session.execute(
        insert(Course.__table__),
        [
            {
                "title": f"{TOPICS[n % len(TOPICS)]}（第{n // len(TOPICS) + 1}期）",
                "summary": "<p>简介</p>",
                "category_id": world.category.id,
                "provider_id": world.town.id,
                "status": CourseStatus.PUBLISHED,
                "hours": Decimal(rng.choice([2, 4, 8, 12, 16, 24])),
                "created_by_id": world.teacher.id,
                "published_at": now,
            }
            for n in range(count)
        ],
    )
    course_ids = list(db.session.scalars(select(Course.id).where(Course.id >= first)))
    rows = []
    for course_id in course_ids:
        for position in range(1, lessons + 1):
            video = rng.random() < video_share
            rows.append(
                {
                    "course_id": course_id,
                    "position": position,
                    "title": f"第{position}课",
                    "kind": LessonKind.VIDEO if video else LessonKind.TEXT,
                    "body": "" if video else f"<p>内容{position}</p>",
                    "required": True,
                    "duration_s": rng.choice([600, 900, 1800]) if video else None,
                }
            )
    db.session.execute(insert(Lesson.__table__), rows)
    made = {course_id: [] for course_id in course_ids}
    for lesson_id, course_id, kind in db.session.execute(
        select(Lesson.id, Lesson.course_id, Lesson.kind)
        .where(Lesson.course_id.in_(course_ids))
        .order_by(Lesson.course_id, Lesson.position)
    ):
        made[course_id].append((lesson_id, kind is LessonKind.VIDEO))
    db.session.commit()
    return list(made.items())


def days_ago(rng: random.Random, most: int) -> date:
    return date.today() - timedelta(days=rng.randint(1, most))


def bulk_pending_outcomes(user_ids: list[int], per_user: int, rng: random.Random) -> list[int]:
    """*per_user* pending offline outcomes for each user (no evidence files), inserted round
    robin so consecutive ids belong to different residents. Returns their ids in order."""
    first = (db.session.scalar(select(func.max(LearningOutcome.id))) or 0) + 1
    rows = [
        {
            "user_id": user_id,
            "kind": OFFLINE[(n + i) % len(OFFLINE)],
            "title": f"{TOPICS[(n * 7 + i) % len(TOPICS)]}培训（{n + 1}）",
            "hours": Decimal(rng.choice(["2.0", "4.0", "8.0", "3.5"])),
            "occurred_on": days_ago(rng, 4 * 365),
            "issuer": ISSUERS[(n + i) % len(ISSUERS)],
            "description": "",
            "status": OutcomeStatus.PENDING,
        }
        for n in range(per_user)
        for i, user_id in enumerate(user_ids)
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(LearningOutcome.__table__), rows[start : start + 5000])
    db.session.commit()
    return list(
        db.session.scalars(
            select(LearningOutcome.id)
            .where(LearningOutcome.id >= first)
            .order_by(LearningOutcome.id)
        )
    )


def certify_all(registrar_id: int, outcome_ids: list[int], *, commit_every: int = 1) -> None:
    registrar = db.session.get(User, registrar_id)
    for n, outcome_id in enumerate(outcome_ids, start=1):
        operations.certify_outcome(registrar, db.session.get(LearningOutcome, outcome_id))
        if n % commit_every == 0:
            db.session.commit()
    db.session.commit()


# 1. Transcript PDF -----------------------------------------------------------------------------


def bench_pdf(args, folder: Path) -> None:
    print(f"\n== 1. transcript of a resident with {args.outcomes} certified outcomes ==")
    print(f"   {load()}")
    app = make_app(folder, args.database_url)
    rng = random.Random(1)
    with fresh_database(app), app.app_context():
        started = time.perf_counter()
        world = World()
        resident = person("王芳", world.villages[0])
        db.session.commit()
        online = args.outcomes // 4
        made = bulk_courses(world, rng, online, 1)
        for course_id, _lessons in made:  # through the learning feature: signal -> posting
            course = db.session.get(Course, course_id)
            learning.enrol(resident, course)
            lesson = course.lessons[0]
            learning.open_lesson(resident, lesson)
            learning.mark_learnt(resident, lesson)
            db.session.commit()
        offline = bulk_pending_outcomes([resident.id], args.outcomes - online, rng)
        certify_all(world.registrar.id, offline, commit_every=25)
        account = operations.account_for(resident)
        certified = db.session.scalar(
            select(func.count(LearningOutcome.id)).filter_by(
                user_id=resident.id, status=OutcomeStatus.CERTIFIED
            )
        )
        entries = db.session.scalar(
            select(func.count(LedgerEntry.id)).filter_by(account_id=account.id)
        )
        assert certified == entries == args.outcomes, (certified, entries)
        print(
            f"setup: {certified} certified outcomes ({online} online courses completed through "
            f"learning.mark_learnt, {len(offline)} offline certified by a registrar), "
            f"{entries} ledger entries, balance {account.balance} in "
            f"{time.perf_counter() - started:.1f} s"
        )

        issuing, transcripts = [], []
        for run in range(args.runs):
            db.session.expire_all()
            with statements_counted() as sent:
                started = time.perf_counter()
                transcript = operations.issue_transcript(resident)
                db.session.commit()
                issuing.append(time.perf_counter() - started)
            transcripts.append(transcript.id)
            if run == 0:
                first_statements = sent[0]
        print(
            f"issue_transcript + commit: {summary(issuing)}; "
            f"{first_statements} SQL statements on the first run"
        )

        transcript = db.session.get(Transcript, transcripts[0])
        rendering, body = [], b""
        for _run in range(args.runs):
            started = time.perf_counter()
            body = documents.transcript_pdf(transcript)
            rendering.append(time.perf_counter() - started)
        pages = len(PdfReader(io.BytesIO(body)).pages)
        print(f"transcript_pdf: {summary(rendering)}")
        print(f"PDF: {kib(len(body))}, {pages} pages")
        served = json.dumps(transcript.document, ensure_ascii=False, indent=2).encode()
        compact = json.dumps(
            transcript.document, ensure_ascii=False, separators=(",", ":")
        ).encode()
        print(
            f"signed JSON: {kib(len(served))} as served (indent=2), {kib(len(compact))} compact; "
            f"{len(transcript.document['transcript']['entries'])} entries"
        )
    print(f"   {load()}")


# 2. Learning file ----------------------------------------------------------------------------


def build_file_owner(args, world: World, rng: random.Random) -> tuple[User, dict[str, int]]:
    """A resident whose learning file holds at least ``args.records`` items."""
    resident = person("张桂英", world.villages[0])
    db.session.commit()
    lessons_per_course = 8
    course_count = max(1, args.records // 20)
    made = bulk_courses(world, rng, course_count, lessons_per_course, video_share=0.5)
    now = utcnow()
    span = 4 * 365 * 86400
    enrolments, progress = [], []
    for course_id, lessons in made:
        enrolled = now - timedelta(seconds=rng.randint(30 * 86400, span))
        completed = enrolled
        for lesson_id, video in lessons:
            completed += timedelta(hours=rng.randint(2, 72))
            length = rng.choice([600, 900, 1800])
            progress.append(
                {
                    "user_id": resident.id,
                    "lesson_id": lesson_id,
                    "intervals": [[0.0, float(length)]] if video else [],
                    "watched_s": float(length) if video else 0.0,
                    "resume_position_s": float(length) if video else 0.0,
                    "opened_at": completed - timedelta(minutes=40),
                    "last_heartbeat_at": completed if video else None,
                    "completed_at": completed,
                }
            )
        enrolments.append(
            {
                "user_id": resident.id,
                "course_id": course_id,
                "enrolled_at": enrolled,
                "completed_at": min(completed, now),
            }
        )
    db.session.execute(insert(Enrolment.__table__), enrolments)
    db.session.execute(insert(LessonProgress.__table__), progress)
    db.session.commit()
    # Each completed course becomes a system-certified outcome and a posting, as the
    # course_completed signal would have done.
    enrolment_ids = list(
        db.session.scalars(select(Enrolment.id).filter_by(user_id=resident.id).order_by("id"))
    )
    for n, enrolment_id in enumerate(enrolment_ids, start=1):
        operations.record_course_completion(db.session.get(Enrolment, enrolment_id))
        if n % 50 == 0:
            db.session.commit()
    db.session.commit()
    # Offline outcomes: most certified (one outcome item and one credit item each), some
    # rejected, the rest pending.
    so_far = 2 * len(enrolments) + len(progress) + len(enrolments)
    remaining = max(0, args.records - so_far)
    offline_count = math.ceil(remaining / 1.85)
    offline = bulk_pending_outcomes([resident.id], offline_count, rng)
    certified = round(offline_count * 0.85)
    rejected = min(50, offline_count - certified)
    certify_all(world.registrar.id, offline[:certified], commit_every=50)
    registrar = db.session.get(User, world.registrar.id)
    for outcome_id in offline[certified : certified + rejected]:
        operations.reject_outcome(
            registrar, db.session.get(LearningOutcome, outcome_id), reason="证明材料不清晰"
        )
    db.session.commit()
    return resident, {
        "courses": len(made),
        "lessons": len(progress),
        "offline": offline_count,
        "certified": certified,
        "rejected": rejected,
    }


def timed_gets(client, path: str, count: int) -> tuple[list[float], object]:
    times, response = [], None
    for _n in range(count):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return times, response


def bench_file(args, folder: Path) -> None:
    print(f"\n== 2. learning file of a resident with {args.records:,}+ records ==")
    print(f"   {load()}")
    app = make_app(folder, args.database_url)
    rng = random.Random(2)
    with fresh_database(app):
        with app.app_context():
            started = time.perf_counter()
            world = World()
            resident, made = build_file_owner(args, world, rng)
            phone = resident.phone
            file = build(resident)
            kinds = Counter(item.kind for item in file.items)
            credit_years = Counter(
                local(item.occurred_at).year for item in file.items if item.kind is ItemKind.CREDIT
            )
            year = credit_years.most_common(1)[0][0]
            entries = db.session.scalar(select(func.count(LedgerEntry.id)))
            print(
                f"setup: {made['courses']} courses × 8 lessons (half video), "
                f"{made['lessons']} lesson completions, {made['offline']} offline outcomes "
                f"({made['certified']} certified, {made['rejected']} rejected), "
                f"{entries} ledger entries in {time.perf_counter() - started:.1f} s"
            )
            print(
                f"records in the file: {len(file.items):,} ("
                + ", ".join(f"{kind.value} {kinds[kind]:,}" for kind in ItemKind)
                + f"), years {', '.join(map(str, file.years))}"
            )
            assert len(file.items) >= args.records, len(file.items)

        # No application context from here on: each request gets its own, as in production.
        client = app.test_client()
        response = client.post("/sign-in", data={"phone": phone, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.get("/me/learning-file")  # warm templates, fonts and caches

        page = "/me/learning-file"
        times, response = timed_gets(client, page, args.requests)
        print(f"GET {page}: {summary(times)}; {kib(len(response.data))} HTML")

        filtered = f"/me/learning-file?year={year}&kind=credit"
        times, response = timed_gets(client, filtered, args.requests)
        print(
            f"GET {filtered} ({credit_years[year]:,} records): {summary(times)}; "
            f"{kib(len(response.data))} HTML"
        )

        times, response = timed_gets(client, "/me/learning-file.pdf", args.pdf_requests)
        pages = len(PdfReader(io.BytesIO(response.data)).pages)
        print(
            f"GET /me/learning-file.pdf (all {len(file.items):,} records): {summary(times)}; "
            f"{kib(len(response.data))}, {pages} pages"
        )

        times, response = timed_gets(client, "/me/learning-file.xapi.json", args.xapi_requests)
        statements = len(json.loads(response.data))
        print(
            f"GET /me/learning-file.xapi.json: {summary(times)}; {kib(len(response.data))}, "
            f"{statements:,} statements"
        )

        with app.app_context():
            with statements_counted() as sent:
                client.get(page)
            print(f"SQL statements for one GET {page}: {sent[0]}")
        for path in (page, "/me/learning-file.pdf") if args.profile_pdf else (page,):
            profiler = cProfile.Profile()
            profiler.enable()
            client.get(path)
            profiler.disable()
            print(f"cProfile of one GET {path}:")
            profile_report(profiler, top=args.profile_top)
    print(f"   {load()}")


# 3. Posting ----------------------------------------------------------------------------------


def bench_post(args, folder: Path) -> None:
    print(
        f"\n== 3. posting {args.post:,} outcomes for {args.residents} residents "
        f"({'PostgreSQL' if args.database_url else 'SQLite'}) =="
    )
    print(f"   {load()}")
    app = make_app(
        folder,
        args.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": args.threads + 2, "max_overflow": 4},
    )
    rng = random.Random(3)
    with fresh_database(app), app.app_context():
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        started = time.perf_counter()
        world = World(villages=4)
        residents = [
            person(f"居民{n}", world.villages[n % len(world.villages)])
            for n in range(args.residents)
        ]
        db.session.commit()
        resident_ids = [user.id for user in residents]
        per_user = math.ceil(args.post / len(resident_ids))
        outcome_ids = bulk_pending_outcomes(resident_ids, per_user, rng)[: args.post]
        concurrent_ids: list[list[int]] = []
        if args.threads and args.concurrent:
            # Disjoint residents per thread, so threads never wait on one account's lock.
            extra = bulk_pending_outcomes(
                resident_ids, math.ceil(args.concurrent / len(resident_ids)), rng
            )[: args.concurrent]
            owners = dict(
                db.session.execute(
                    select(LearningOutcome.id, LearningOutcome.user_id).where(
                        LearningOutcome.id.in_(extra)
                    )
                ).all()
            )
            concurrent_ids = [
                [i for i in extra if resident_ids.index(owners[i]) % args.threads == t]
                for t in range(args.threads)
            ]
        print(
            f"setup: {len(resident_ids)} residents (accounts opened), "
            f"{len(outcome_ids) + sum(map(len, concurrent_ids)):,} pending outcomes "
            f"inserted in {time.perf_counter() - started:.1f} s"
        )

        registrar = db.session.get(User, world.registrar.id)
        with statements_counted() as sent:
            operations.certify_outcome(registrar, db.session.get(LearningOutcome, outcome_ids[0]))
            db.session.commit()
        print(f"SQL statements for one certification + commit: {sent[0]}")

        started = time.perf_counter()
        lap, lap_started = 0, started
        for n, outcome_id in enumerate(outcome_ids[1:], start=2):
            operations.certify_outcome(registrar, db.session.get(LearningOutcome, outcome_id))
            db.session.commit()
            if n % args.progress == 0:
                now = time.perf_counter()
                print(
                    f"  certified {n:,}: {(n - 1 - lap) / (now - lap_started):,.0f}/s recently",
                    flush=True,
                )
                lap, lap_started = n - 1, now
        seconds = time.perf_counter() - started
        done = len(outcome_ids) - 1
        print(
            f"certify_outcome + commit each: {done:,} entries in {seconds:.1f} s = "
            f"{done / seconds:,.0f} entries/s ({ms(seconds / done)} each)"
        )

        account_ids = list(
            db.session.scalars(
                select(CreditAccount.id)
                .where(CreditAccount.user_id.in_(resident_ids))
                .order_by(CreditAccount.id)
            )
        )
        with statements_counted() as sent:
            operations.post_entry(
                db.session.get(CreditAccount, account_ids[0]),
                key="bench:probe",
                amount=Decimal("0.5"),
                memo="benchmark",
            )
            db.session.commit()
        print(f"SQL statements for one post_entry + commit: {sent[0]}")
        started = time.perf_counter()
        for n in range(args.post):
            operations.post_entry(
                db.session.get(CreditAccount, account_ids[n % len(account_ids)]),
                key=f"bench:{n}",
                amount=Decimal("0.5"),
                memo="benchmark",
            )
            db.session.commit()
            if (n + 1) % args.progress == 0:
                print(f"  posted {n + 1:,}", flush=True)
        seconds = time.perf_counter() - started
        print(
            f"post_entry + commit each: {args.post:,} entries in {seconds:.1f} s = "
            f"{args.post / seconds:,.0f} entries/s ({ms(seconds / args.post)} each)"
        )

        if concurrent_ids:
            registrar_id = world.registrar.id
            db.session.remove()
            concurrent(app, registrar_id, concurrent_ids)

        started = time.perf_counter()
        report = checks.verify_ledger()
        seconds = time.perf_counter() - started
        print(
            f"verify_ledger: {report.accounts:,} accounts, {report.entries:,} entries in "
            f"{ms(seconds)} ({report.entries / seconds:,.0f} entries/s); "
            f"broken accounts: {len(report.broken)}"
        )
        for broken in report.broken[:10]:
            print(f"  BROKEN {broken}")
        notices = db.session.scalar(select(func.count()).select_from(_notice_table()))
        print(f"notices written: {notices:,}")
    print(f"   {load()}")
    if report.broken:
        sys.exit("the ledger does not verify")


def _notice_table():
    from lms.accounts.models import Notice

    return Notice.__table__


def concurrent(app: Flask, registrar_id: int, shares: list[list[int]]) -> None:
    """Each thread certifies its own residents' outcomes in its own app context (and so its
    own session and connection), committing after each; lock conflicts are retried."""
    barrier = threading.Barrier(len(shares))
    retries, failures, lock = Counter(), [], threading.Lock()

    def work(outcome_ids: list[int]) -> None:
        with app.app_context():
            registrar = db.session.get(User, registrar_id)
            barrier.wait()
            for outcome_id in outcome_ids:
                for attempt in range(10):
                    try:
                        operations.certify_outcome(
                            registrar, db.session.get(LearningOutcome, outcome_id)
                        )
                        db.session.commit()
                        break
                    except (OperationalError, StaleDataError) as error:
                        db.session.rollback()
                        with lock:
                            retries[type(error).__name__] += 1
                        time.sleep(0.005 * (attempt + 1))
                    except OperationError as error:
                        db.session.rollback()
                        with lock:
                            failures.append((outcome_id, error.message))
                        break
                else:
                    with lock:
                        failures.append((outcome_id, "gave up after 10 attempts"))
            db.session.remove()

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    total = sum(map(len, shares)) - len(failures)
    print(
        f"concurrent certify_outcome, {len(shares)} threads (disjoint residents): {total:,} "
        f"entries in {seconds:.1f} s = {total / seconds:,.0f} entries/s; "
        f"retries {dict(retries) or 0}, failures {len(failures)}"
    )
    for failure in failures[:5]:
        print(f"  FAILED {failure}")


# Main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["pdf", "file", "post"], help="default: all three")
    parser.add_argument("--database-url", help="default: SQLite in a temporary instance folder")
    parser.add_argument("--outcomes", type=int, default=200, help="transcript size (pdf)")
    parser.add_argument("--runs", type=int, default=5, help="issues and renderings (pdf)")
    parser.add_argument("--records", type=int, default=5000, help="learning-file size (file)")
    parser.add_argument("--requests", type=int, default=20, help="GETs of the page (file)")
    parser.add_argument("--pdf-requests", type=int, default=3, help="GETs of the PDF (file)")
    parser.add_argument("--xapi-requests", type=int, default=5, help="GETs of the xAPI (file)")
    parser.add_argument("--profile-top", type=int, default=10, help="profile rows (file)")
    parser.add_argument(
        "--no-profile-pdf",
        dest="profile_pdf",
        action="store_false",
        help="profile only the page, not also the PDF (file)",
    )
    parser.add_argument("--post", type=int, default=10_000, help="postings of each kind (post)")
    parser.add_argument("--residents", type=int, default=100, help="accounts (post)")
    parser.add_argument("--threads", type=int, default=4, help="0: no concurrent run (post)")
    parser.add_argument("--concurrent", type=int, default=2000, help="outcomes for threads")
    parser.add_argument("--progress", type=int, default=2000, help="print every N (post)")
    args = parser.parse_args()

    print(
        f"credit bank benchmark — Python {sys.version.split()[0]}, "
        f"{'PostgreSQL' if args.database_url else 'SQLite (WAL)'}; {load()}"
    )
    benches: dict[str, Callable] = {"pdf": bench_pdf, "file": bench_file, "post": bench_post}
    for name, bench in benches.items():
        if args.only in (None, name):
            with tempfile.TemporaryDirectory(prefix=f"lms-bench-{name}-") as tmp:
                bench(args, Path(tmp))


if __name__ == "__main__":
    main()

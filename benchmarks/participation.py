"""Participation benchmark: generate a county of residents and learning records, rebuild the
rollups, run the 5-minute refresh, and time the dashboard (page and API) as a county and a town
administrator.

    python benchmarks/participation.py --residents 100000 --records 5000000           # SQLite
    python benchmarks/participation.py --db postgresql+psycopg://postgres@127.0.0.1:55443/lms_bench \\
        --residents 1000000 --records 50000000

Data is generated inside the database (``generate_series`` on PostgreSQL, a recursive CTE on
SQLite: no Python loop per row): the county, 20 towns of 15 villages each, 12 courses of 4
lessons, residents with birth years from 1930 to 2009, and learning records spread over the
last 24 months: playback visits with watched time (most records), and one certified offline
outcome with 学时 per ten visits. (No ledger postings: they need hash chains; credits are a
sum like 学时 and cost the same.)

``--rollups-only``: skip the records and generate the rollup rows directly (one month row per
resident and month for a participating share of residents, as the rebuild would write), for
sizes where generating and rolling up the raw records would take hours on this machine; the
page then reads rollup tables of full size. Prints every step's time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import Integer, cast, func, insert, literal, select, text

from lms import create_app
from lms.accounts import operations as accounts
from lms.accounts.models import Level, OrgUnit, Role, RoleGrant, User
from lms.admin import rollups
from lms.courses import operations as courses
from lms.courses.models import Lesson
from lms.credits.models import LearningOutcome, OutcomeKind, OutcomeStatus
from lms.extensions import db
from lms.learning.models import LessonVisit

TOWNS, VILLAGES_PER_TOWN, COURSES, LESSONS = 20, 15, 12, 4
SECONDS_24_MONTHS = 730 * 86400


def step(label: str):
    class Timer:
        def __enter__(self):
            self.started = time.perf_counter()
            print(f"{label} …", end=" ", flush=True)
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.started
            print(f"{self.seconds:.1f} s", flush=True)

    return Timer()


def pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def series(n: int):
    """A selectable of integers 1..n as column ``i``."""
    if pg():
        return select(func.generate_series(1, n).table_valued("i").render_derived().c.i)
    base = select(literal(1).label("i")).cte("series", recursive=True)
    base = base.union_all(select(base.c.i + 1).where(base.c.i < n))
    return select(base.c.i)


def rand(k: int):
    """A random integer in [0, k)."""
    if pg():
        return cast(func.floor(func.random() * k), Integer)
    return func.abs(func.random()) % k


def ago_seconds(seconds):
    """now − *seconds* (an SQL integer expression) as a timestamp."""
    if pg():
        return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    return func.strftime(
        "%Y-%m-%d %H:%M:%f", "now", literal("-") + cast(seconds, db.String) + " seconds"
    )


def build_county() -> tuple[OrgUnit, list[int], list[int]]:
    county = accounts.create_org_unit(
        name="泸县", code="510521", level=Level.COUNTY, parent=None, population=764_362 * 2
    )
    villages = []
    for t in range(1, TOWNS + 1):
        town = accounts.create_org_unit(
            name=f"镇{t:02d}",
            code=f"510521{t:03d}",
            level=Level.TOWN,
            parent=county,
            population=76_000,
        )
        for v in range(1, VILLAGES_PER_TOWN + 1):
            villages.append(
                accounts.create_org_unit(
                    name=f"镇{t:02d}村{v:02d}",
                    code=f"{town.code}{v:03d}",
                    level=Level.VILLAGE,
                    parent=town,
                    population=5_000,
                ).id
            )
    admin = accounts.create_user(
        phone="13800000001",
        name="县管",
        password="Bench#2026x",
        org_unit=county,
        roles=(Role.RESIDENT, Role.ADMIN),
    )
    teacher = accounts.create_user(
        phone="13900000001",
        name="老师",
        password="Bench#2026x",
        org_unit=county,
        roles=(Role.RESIDENT, Role.TEACHER),
    )
    lessons = []
    for c in range(COURSES):
        category = courses.create_category(f"分类{c:02d}")
        course = courses.create_course(
            teacher, title=f"课程{c}", summary="<p>x</p>", category=category, hours=8
        )
        for n in range(LESSONS):
            lessons.append(courses.add_text_lesson(course, title=f"第{n}课", body="<p>x</p>").id)
        courses.publish_course(course)
    db.session.commit()
    return county, villages, lessons, admin


def add_residents(n: int, villages: list[int]) -> tuple[int, int]:
    first_village, count = min(villages), len(villages)
    s = series(n).subquery()
    phone = (
        func.concat("13", func.lpad(cast(s.c.i, db.String), 9, "0"))
        if pg()
        else func.printf("13%09d", s.c.i)
    )
    before = db.session.scalar(select(func.max(User.id)))
    db.session.execute(
        insert(User).from_select(
            ["phone", "name", "password_hash", "org_unit_id", "birth_year", "active"],
            select(
                phone,
                literal("居民"),
                literal("x"),
                first_village + s.c.i % count,
                1930 + rand(80),
                literal(True),
            ),
        )
    )
    first = before + 1
    last = db.session.scalar(select(func.max(User.id)))
    db.session.execute(
        insert(RoleGrant).from_select(
            ["user_id", "role", "org_unit_id"],
            select(User.id, literal(Role.RESIDENT.value), User.org_unit_id).where(User.id >= first),
        )
    )
    db.session.commit()
    return first, last


def add_records(records: int, first_user: int, last_user: int, lessons: list[int]) -> None:
    users = last_user - first_user + 1
    batch = 5_000_000
    done = 0
    while done < records:
        n = min(batch, records - done)
        s = series(n).subquery()
        started = ago_seconds(rand(SECONDS_24_MONTHS))
        db.session.execute(
            insert(LessonVisit).from_select(
                ["user_id", "lesson_id", "started_at", "position_s", "credited_s", "heartbeats"],
                select(
                    first_user + rand(users),
                    min(lessons) + rand(len(lessons)),
                    started,
                    literal(0.0),
                    60 + rand(1200),
                    literal(4),
                ).select_from(s),
            )
        )
        db.session.commit()
        done += n
    outcomes = records // 10
    s = series(outcomes).subquery()
    db.session.execute(
        insert(LearningOutcome).from_select(
            [
                "user_id",
                "kind",
                "title",
                "hours",
                "occurred_on",
                "status",
                "decided_at",
                "created_at",
            ],
            select(
                first_user + rand(users),
                literal(OutcomeKind.TRAINING.value),
                func.concat("培训", cast(s.c.i, db.String))
                if pg()
                else literal("培训") + cast(s.c.i, db.String),
                2 + rand(6),
                func.current_date(),
                literal(OutcomeStatus.CERTIFIED.value),
                ago_seconds(rand(SECONDS_24_MONTHS)),
                func.now() if pg() else func.strftime("%Y-%m-%d %H:%M:%f", "now"),
            ).select_from(s),
        )
    )
    db.session.commit()


def add_rollups_directly(first_user: int, last_user: int, share: float = 0.6) -> None:
    """Month rows as the rebuild would write them: each resident takes part in a month with
    probability *share* / 2 (about *share* take part in a year), in one category."""
    months = rollups_months()
    for month in months:
        db.session.execute(
            insert(rollups.ResidentPeriod).from_select(
                ["period", "user_id", "category_id", "unit_id", "age_band"],
                select(
                    literal(month),
                    User.id,
                    1 + rand(COURSES),
                    User.org_unit_id,
                    rand(5),
                ).where(User.id >= first_user, rand(1000) < int(share * 500)),
            )
        )
        db.session.commit()
    rp = rollups.ResidentPeriod.__table__.c
    for month in months:
        db.session.execute(
            insert(rollups.ResidentPeriod).from_select(
                ["period", "user_id", "category_id", "unit_id", "age_band"],
                select(rp.period, rp.user_id, literal(rollups.ALL), rp.unit_id, rp.age_band).where(
                    rp.period == month
                ),
            )
        )
    for year in sorted({m // 100 for m in months}):
        rollups._insert_ignoring_duplicates(
            rollups.ResidentPeriod.__table__,
            ["period", "user_id", "category_id", "unit_id", "age_band"],
            select(rp.period // 100, rp.user_id, rp.category_id, rp.unit_id, rp.age_band)
            .where(rp.period >= year * 100, rp.period < (year + 1) * 100)
            .distinct(),
        )
    db.session.commit()
    rollups._restat(months, sorted({m // 100 for m in months}))
    db.session.commit()


def rollups_months() -> list[int]:
    from lms.admin.participation import last_months
    from lms.core.time import local_date, utcnow

    return last_months(local_date(utcnow()))


def time_pages(app, county_id: int, town_id: int, admin_phone: str) -> None:
    client = app.test_client()
    client.post("/sign-in", data={"phone": admin_phone, "password": "Bench#2026x"})
    for label, path in [
        ("county page", "/admin/participation"),
        ("town page", f"/admin/participation?unit={town_id}"),
        ("county API", "/api/v1/admin/participation"),
        ("units .xlsx", f"/admin/participation/units.xlsx?unit={county_id}"),
    ]:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code)
        print(
            f"{label}: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--rollups-only", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lms-participation-bench-"))
    url = args.db or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app(
        {
            "LMS_INSTANCE_DIR": str(folder / "instance"),
            "SQLALCHEMY_DATABASE_URI": url,
            "LMS_MEDIA_DIR": str(folder / "media"),
            "LMS_QUEUE_IMMEDIATE": True,
            "WTF_CSRF_ENABLED": False,
            "LMS_ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        }
    )
    with app.app_context():
        if pg():
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        db.create_all()
        print(
            f"database: {db.engine.dialect.name}; {args.residents:,} residents, "
            f"{0 if args.rollups_only else args.records:,} records (+{args.records // 10:,} outcomes)"
        )
        county, villages, lessons, admin = build_county()
        with step(f"generate {args.residents:,} residents"):
            first, last = add_residents(args.residents, villages)
        if args.rollups_only:
            with step("generate rollup rows directly (24 months)"):
                add_rollups_directly(first, last)
        else:
            with step(f"generate {args.records:,} visits and {args.records // 10:,} outcomes"):
                add_records(args.records, first, last, lessons)
            if pg():
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            with step("rollups: full rebuild"):
                rollups.rebuild()
                db.session.commit()
            # The 5-minute job: a day's worth of new records, then a refresh from yesterday.
            day = max(1, args.records // 730)
            with step(f"add {day:,} records of today"):
                s = series(day).subquery()
                db.session.execute(
                    insert(LessonVisit).from_select(
                        [
                            "user_id",
                            "lesson_id",
                            "started_at",
                            "position_s",
                            "credited_s",
                            "heartbeats",
                        ],
                        select(
                            first + rand(last - first + 1),
                            min(lessons) + rand(len(lessons)),
                            ago_seconds(rand(3600)),
                            literal(0.0),
                            literal(120.0),
                            literal(1),
                        ).select_from(s),
                    )
                )
                db.session.commit()
            with step("rollups: incremental refresh (the 5-minute job)"):
                rollups.refresh_recent()
                db.session.commit()
        counts = {
            table: db.session.scalar(select(func.count()).select_from(model))
            for table, model in [
                ("resident_period", rollups.ResidentPeriod),
                ("participation_day", rollups.ParticipationDay),
                ("participation_stat", rollups.ParticipationStat),
            ]
        }
        print("rollup rows:", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        town = db.session.scalar(select(OrgUnit.id).where(OrgUnit.level == Level.TOWN).limit(1))
        time_pages(app, county.id, town, admin.phone)
        _ = Lesson  # (imported for the mapper registry)


if __name__ == "__main__":
    main()

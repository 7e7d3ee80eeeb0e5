"""Participation rollups: the tables the dashboard reads, and the one routine that fills them.

A resident *took part* in a period when they have at least one learning record in it (DESIGN.md):
a lesson studied (a video visit with watched time credited, or a lesson completed), a course
completed, an activity attended (on the day of the check-in), an outcome certified. Credits issued are the ledger's postings (reversals negative)
and learning hours (学时) the hours of certified outcomes, both on the day they were posted or
certified. Days are local days (the display zone).

Distinct residents cannot be summed across days or units, so the figures are kept at three
grains (derived tables: no foreign keys, so that a rebuild of millions of rows checks none):

- ``participation_day``: per local day, home unit of the resident, course category and age
  band: learning records, 学时 and credits. Sums, so they add up over days and units.
- ``resident_period``: one row per resident and period (a month ``YYYYMM`` or a year ``YYYY``)
  and category (``ALL`` = any) in which they took part. Distinct by construction.
- ``participation_stat``: what the pages read, per unit (every level: its whole subtree),
  period, category and age band: residents who took part (counted from ``resident_period``),
  records, 学时 and credits (summed from ``participation_day``); period ``SNAPSHOT`` (0) holds
  the registered residents as of the last refresh.

:func:`refresh` recomputes everything from a local day on (the job queue runs it every few
minutes for yesterday and today; ``lms admin rollups rebuild`` runs it from the first record).
It adds participation but does not take it back: a record removed later (an outcome revoked)
leaves its resident counted until the nightly rebuild.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column

from lms.accounts.models import OrgUnit, User
from lms.activities.models import Attendance
from lms.core.models import utc_datetime
from lms.core.time import display_zone, local_date, utcnow
from lms.courses.models import Course, Lesson
from lms.credits.models import (
    CreditAccount,
    LearningOutcome,
    LedgerEntry,
    OutcomeStatus,
)
from lms.extensions import db
from lms.learning.models import Enrolment, LessonProgress, LessonVisit

ALL = 0  # category: any category
UNCATEGORISED = -1  # category: records without one (offline outcomes)
SNAPSHOT = 0  # period: registered residents now

# Age bands, by age in the period's year (birth year unknown: 0). 60+ is one band on its own.
BAND_UNKNOWN, BAND_UNDER_18, BAND_18_44, BAND_45_59, BAND_60_PLUS = range(5)
BANDS = (BAND_UNDER_18, BAND_18_44, BAND_45_59, BAND_60_PLUS, BAND_UNKNOWN)


class ParticipationDay(db.Model):
    """Sums of one local day for residents homed in one unit, one category and one age band."""

    __tablename__ = "participation_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    age_band: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(index=True)
    records: Mapped[int]
    hours: Mapped[Decimal] = mapped_column(Numeric(14, 1))
    credits: Mapped[Decimal] = mapped_column(Numeric(14, 1))


class ResidentPeriod(db.Model):
    """A resident took part in a period (month ``YYYYMM`` or year ``YYYY``), in a category
    (``ALL``: in any). ``unit_id`` and ``age_band`` are the resident's at the first record."""

    __tablename__ = "resident_period"

    period: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    unit_id: Mapped[int]
    age_band: Mapped[int] = mapped_column(SmallInteger)


class ParticipationStat(db.Model):
    """What the dashboard reads: a unit's subtree in one period, category and age band."""

    __tablename__ = "participation_stat"

    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    period: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    age_band: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    residents: Mapped[int]
    records: Mapped[int]
    hours: Mapped[Decimal] = mapped_column(Numeric(14, 1))
    credits: Mapped[Decimal] = mapped_column(Numeric(14, 1))


class ParticipationTarget(db.Model):
    """The county's participation target for a year, in per cent of the resident population."""

    __tablename__ = "participation_target"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    percent: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    set_at: Mapped[utc_datetime | None]


class RollupState(db.Model):
    """One row: when the rollups were last refreshed, and from which local day."""

    __tablename__ = "rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    refreshed_at: Mapped[utc_datetime]
    from_day: Mapped[date | None] = mapped_column(Date)
    seconds: Mapped[float]


# The refresh finds a day's records by these times; without an index each would scan its table.
# They belong to the rollups, so they are declared here, beside the tables they serve.
Index("ix_lesson_visit_started_at", LessonVisit.started_at)
Index("ix_lesson_progress_completed_at", LessonProgress.completed_at)
Index("ix_enrolment_completed_at", Enrolment.completed_at)
Index("ix_learning_outcome_decided_at", LearningOutcome.decided_at)
Index("ix_ledger_entry_occurred_at", LedgerEntry.occurred_at)
Index("ix_attendance_checked_in_at", Attendance.checked_in_at)


# SQL pieces that differ between SQLite and PostgreSQL -----------------------------------------


def _dialect() -> str:
    return db.engine.dialect.name


def _local(column):
    """A timestamp column moved into the display zone (naive local time)."""
    if _dialect() == "postgresql":
        return func.timezone(str(display_zone()), column)
    offset = display_zone().utcoffset(datetime(2000, 1, 1)).total_seconds() / 3600
    return func.datetime(column, f"{offset:+g} hours")


def _local_day(column):
    if _dialect() == "postgresql":
        return cast(_local(column), Date)
    return func.date(_local(column))


def _local_month(column):
    """``YYYYMM`` of the local time, an integer."""
    if _dialect() == "postgresql":
        return cast(func.to_char(_local(column), "YYYYMM"), Integer)
    return cast(func.strftime("%Y%m", _local(column)), Integer)


def age_band(year, birth_year):
    """The age band (SQL) of someone born in *birth_year* during *year*."""
    age = year - birth_year
    return case(
        (birth_year.is_(None), BAND_UNKNOWN),
        (age < 18, BAND_UNDER_18),
        (age < 45, BAND_18_44),
        (age < 60, BAND_45_59),
        else_=BAND_60_PLUS,
    )


def band_of(year: int, birth_year: int | None) -> int:
    """The same in Python."""
    if birth_year is None:
        return BAND_UNKNOWN
    age = year - birth_year
    if age < 18:
        return BAND_UNDER_18
    if age < 45:
        return BAND_18_44
    if age < 60:
        return BAND_45_59
    return BAND_60_PLUS


# The learning records ------------------------------------------------------------------------


def _records(since: datetime | None):
    """Every learning record at or after *since*: ``(user_id, at, category_id, took_part,
    hours, credits)``. ``took_part`` is 0 for ledger postings (they only carry credits)."""
    zero = literal(0)
    dec0 = cast(literal(0), Numeric(14, 1))

    def after(column):
        return column >= since if since is not None else true()

    visits = (
        select(
            LessonVisit.user_id,
            LessonVisit.started_at.label("at"),
            Course.category_id,
            literal(1).label("took_part"),
            dec0.label("hours"),
            dec0.label("credits"),
        )
        .join(Lesson, Lesson.id == LessonVisit.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(after(LessonVisit.started_at), LessonVisit.credited_s > 0)
    )
    lessons = (
        select(
            LessonProgress.user_id,
            LessonProgress.completed_at,
            Course.category_id,
            literal(1),
            dec0,
            dec0,
        )
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(after(LessonProgress.completed_at), LessonProgress.completed_at.is_not(None))
    )
    courses = (
        select(
            Enrolment.user_id, Enrolment.completed_at, Course.category_id, literal(1), dec0, dec0
        )
        .join(Course, Course.id == Enrolment.course_id)
        .where(after(Enrolment.completed_at), Enrolment.completed_at.is_not(None))
    )
    outcomes = select(
        LearningOutcome.user_id,
        LearningOutcome.decided_at,
        func.coalesce(LearningOutcome.category_id, UNCATEGORISED),
        literal(1),
        cast(LearningOutcome.hours, Numeric(14, 1)),
        dec0,
    ).where(
        after(LearningOutcome.decided_at),
        LearningOutcome.decided_at.is_not(None),
        LearningOutcome.status == OutcomeStatus.CERTIFIED,
    )
    # Attending counts the day of the check-in; its 学时 come with the activity outcome the
    # close certifies, like a course's with its completion outcome.
    attendances = select(
        Attendance.user_id,
        Attendance.checked_in_at,
        literal(UNCATEGORISED),
        literal(1),
        dec0,
        dec0,
    ).where(after(Attendance.checked_in_at), Attendance.voided_at.is_(None))
    postings = (
        select(
            CreditAccount.user_id,
            LedgerEntry.occurred_at,
            func.coalesce(LearningOutcome.category_id, UNCATEGORISED),
            zero,
            dec0,
            cast(LedgerEntry.amount, Numeric(14, 1)),
        )
        .join(CreditAccount, CreditAccount.id == LedgerEntry.account_id)
        .outerjoin(LearningOutcome, LearningOutcome.id == LedgerEntry.outcome_id)
        .where(after(LedgerEntry.occurred_at))
    )
    return union_all(visits, lessons, courses, attendances, outcomes, postings).subquery("record")


# Refreshing ----------------------------------------------------------------------------------


@dataclass
class Refreshed:
    from_day: date | None
    periods: int
    seconds: float


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=display_zone())


def _insert_ignoring_duplicates(table, columns: list[str], query):
    """``INSERT … SELECT`` that skips rows whose key is already there."""
    if _dialect() == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table).from_select(columns, query).on_conflict_do_nothing()
    db.session.execute(statement)


def refresh(from_day: date | None) -> Refreshed:
    """Recompute the rollups from local day *from_day* on (None: everything, after emptying
    them). Flushes, never commits; a caller (the job, the command) commits."""
    started = _time.perf_counter()
    day_table, period_table = ParticipationDay.__table__, ResidentPeriod.__table__
    since = _start_of(from_day) if from_day is not None else None
    if from_day is None:
        db.session.execute(delete(ParticipationStat))
        db.session.execute(delete(period_table))
        db.session.execute(delete(day_table))
    else:
        db.session.execute(delete(day_table).where(day_table.c.day >= from_day))

    record = _records(since)
    month = _local_month(record.c.at)
    # One row per record with its day, month, home unit and age band; the groupings below
    # group by these columns (PostgreSQL would not match two copies of a parameterised
    # expression in SELECT and GROUP BY).
    enriched = (
        select(
            record.c.user_id,
            User.org_unit_id.label("unit_id"),
            record.c.category_id,
            record.c.took_part,
            record.c.hours,
            record.c.credits,
            _local_day(record.c.at).label("day"),
            month.label("month"),
            age_band(month // 100, User.birth_year).label("band"),
        )
        .join(User, User.id == record.c.user_id)
        .subquery("enriched")
    )
    e = enriched.c
    # 1. Day sums.
    sums = select(
        e.day,
        e.unit_id,
        e.category_id,
        e.band,
        e.month,
        func.sum(e.took_part),
        func.sum(e.hours),
        func.sum(e.credits),
    ).group_by(e.day, e.unit_id, e.category_id, e.band, e.month)
    db.session.execute(
        insert(day_table).from_select(
            ["day", "unit_id", "category_id", "age_band", "month", "records", "hours", "credits"],
            sums,
        )
    )
    # 2. Residents who took part, per month and category; then per month in any category, and
    # per year (from the months, a smaller table than the records).
    columns = ["period", "user_id", "category_id", "unit_id", "age_band"]
    monthly = (
        select(e.month, e.user_id, e.category_id, e.unit_id, e.band)
        .where(e.took_part == 1)
        .distinct()
    )
    _insert_ignoring_duplicates(period_table, columns, monthly)
    first_month = int(from_day.strftime("%Y%m")) if from_day else 0
    rp = period_table.c
    months = and_(rp.period >= max(first_month, 10000), rp.category_id != ALL)
    _insert_ignoring_duplicates(
        period_table,
        columns,
        select(rp.period, rp.user_id, literal(ALL), rp.unit_id, rp.age_band)
        .where(months)
        .distinct(),
    )
    # Year rows come from month rows; only months from the first refreshed one can be new.
    years = and_(rp.period >= max(first_month, 10000))
    _insert_ignoring_duplicates(
        period_table,
        columns,
        select(rp.period // 100, rp.user_id, rp.category_id, rp.unit_id, rp.age_band)
        .where(years)
        .distinct(),
    )
    db.session.flush()
    # 3. What the pages read, for every period touched.
    touched_months = sorted(
        db.session.scalars(
            select(day_table.c.month).where(day_table.c.month >= first_month).distinct()
        )
    )
    touched_months = sorted(
        set(touched_months)
        | set(
            db.session.scalars(
                select(rp.period).where(rp.period >= max(first_month, 10000)).distinct()
            )
        )
    )
    touched_years = sorted({m // 100 for m in touched_months})
    _restat(touched_months, touched_years)
    seconds = _time.perf_counter() - started
    _note_refresh(from_day, seconds)
    return Refreshed(from_day, len(touched_months) + len(touched_years), seconds)


def _restat(months: Iterable[int], years: Iterable[int]) -> None:
    """Recompute ``participation_stat`` for *months*, *years* and the snapshot, in one
    ``INSERT … SELECT``: the figures of each home unit, added up into every unit above it."""
    months, years = list(months), list(years)
    periods = months + years
    stat = ParticipationStat.__table__
    db.session.execute(delete(stat).where(stat.c.period.in_([*periods, SNAPSHOT])))
    rp = ResidentPeriod.__table__.c
    d = ParticipationDay.__table__.c
    zero = cast(literal(0), Numeric(14, 1))
    parts = []
    if periods:
        parts.append(  # residents who took part, per category and in all (ALL rows exist)
            select(
                rp.period,
                rp.unit_id,
                rp.category_id,
                rp.age_band,
                func.count().label("residents"),
                literal(0).label("records"),
                zero.label("hours"),
                zero.label("credits"),
            )
            .where(rp.period.in_(periods))
            .group_by(rp.period, rp.unit_id, rp.category_id, rp.age_band)
        )
        # Sums from the days, per month and per year, per category and in all categories.
        days = (
            select(
                d.month,
                (d.month // 100).label("year"),
                d.unit_id,
                d.category_id,
                d.age_band,
                d.records,
                d.hours,
                d.credits,
            )
            .where(d.month.in_(months) | (d.month // 100).in_(years))
            .subquery("days")
        )
        for period_column, keep in ((days.c.month, months), (days.c.year, years)):
            for category in (days.c.category_id, literal(ALL)):
                grouping = [period_column, days.c.unit_id, days.c.age_band]
                if category is days.c.category_id:
                    grouping.append(days.c.category_id)
                parts.append(
                    select(
                        period_column,
                        days.c.unit_id,
                        category,
                        days.c.age_band,
                        literal(0),
                        func.sum(days.c.records),
                        func.sum(days.c.hours),
                        func.sum(days.c.credits),
                    )
                    .where(period_column.in_(keep))
                    .group_by(*grouping)
                )
    # The snapshot: registered (active) residents, by their age this year.
    people = (
        select(
            User.org_unit_id.label("unit_id"),
            age_band(local_date(utcnow()).year, User.birth_year).label("band"),
        )
        .where(User.active.is_(True))
        .subquery("people")
    )
    parts.append(
        select(
            literal(SNAPSHOT),
            people.c.unit_id,
            literal(ALL),
            people.c.band,
            func.count(),
            literal(0),
            zero,
            zero,
        ).group_by(people.c.unit_id, people.c.band)
    )
    figures = union_all(*parts).subquery("figures")
    f = figures.c
    period, unit_id, category_id, band, residents, records, hours, credits = list(f)
    # Each home unit's figures count for it and the (at most two) units above it: the tree is
    # county → town → village. Joined by primary key (SQLite has no hash join).
    parent = aliased(OrgUnit)
    based = (
        select(
            OrgUnit.id.label("a1"),
            OrgUnit.parent_id.label("a2"),
            parent.parent_id.label("a3"),
            period.label("period"),
            category_id.label("category_id"),
            band.label("age_band"),
            residents.label("residents"),
            records.label("records"),
            hours.label("hours"),
            credits.label("credits"),
        )
        .select_from(figures)
        .join(OrgUnit, OrgUnit.id == unit_id)
        .outerjoin(parent, parent.id == OrgUnit.parent_id)
        .cte("based")
    )
    b = based.c
    figures_columns = [
        b.period,
        b.category_id,
        b.age_band,
        b.residents,
        b.records,
        b.hours,
        b.credits,
    ]
    spread = union_all(
        select(b.a1.label("unit_id"), *figures_columns),
        select(b.a2, *figures_columns).where(b.a2.is_not(None)),
        select(b.a3, *figures_columns).where(b.a3.is_not(None)),
    ).subquery("spread")
    g = spread.c
    rolled = select(
        g.unit_id,
        g.period,
        g.category_id,
        g.age_band,
        func.sum(g.residents),
        func.sum(g.records),
        func.sum(g.hours),
        func.sum(g.credits),
    ).group_by(g.unit_id, g.period, g.category_id, g.age_band)
    db.session.execute(
        insert(stat).from_select(
            [
                "unit_id",
                "period",
                "category_id",
                "age_band",
                "residents",
                "records",
                "hours",
                "credits",
            ],
            rolled,
        )
    )


def _note_refresh(from_day: date | None, seconds: float) -> None:
    state = db.session.get(RollupState, 1)
    if state is None:
        state = RollupState(id=1)
        db.session.add(state)
    state.refreshed_at = utcnow()
    state.from_day = from_day
    state.seconds = round(seconds, 3)
    db.session.flush()


def refresh_recent(*, now: datetime | None = None) -> Refreshed:
    """The job's refresh: from the day before the last refresh (or yesterday) to now."""
    today = local_date(now or utcnow())
    state = db.session.get(RollupState, 1)
    start = today - timedelta(days=1)
    if state is not None and state.refreshed_at is not None:
        start = min(start, local_date(state.refreshed_at) - timedelta(days=1))
    if state is None:
        return refresh(None)  # never built: build everything once
    return refresh(start)


def rebuild() -> Refreshed:
    """Empty the rollups and compute them again from every record."""
    return refresh(None)


def last_refresh() -> RollupState | None:
    return db.session.get(RollupState, 1)

"""Participation against the county's targets: the figures of a unit and the units below it,
read from the rollups (:mod:`lms.admin.rollups`), never from the learning records; the yearly
targets and who may see and set what.

Participation rate = residents of the unit's subtree who took part in the period / its resident
population (常住人口).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from lms.accounts.access import can_manage_unit, grant_units, is_county_admin
from lms.accounts.models import OrgUnit, Role, User
from lms.admin.rollups import (
    ALL,
    BAND_18_44,
    BAND_45_59,
    BAND_60_PLUS,
    BAND_UNDER_18,
    BAND_UNKNOWN,
    BANDS,
    SNAPSHOT,
    UNCATEGORISED,
    ParticipationStat,
    ParticipationTarget,
    RollupState,
)
from lms.core.errors import field_error
from lms.core.time import local_date, utcnow
from lms.courses.models import Category
from lms.extensions import db

# The plan in the seeds: 60 %, then 80 %, then 85 % of residents taking part. A county
# administrator sets the target of any year; these apply to years nobody set.
DEFAULT_TARGETS = {2025: 60, 2026: 80, 2027: 85}
MONTHS_SHOWN = 24

BAND_LABELS = {
    BAND_UNDER_18: _l("18岁以下"),
    BAND_18_44: _l("18–44岁"),
    BAND_45_59: _l("45–59岁"),
    BAND_60_PLUS: _l("60岁及以上"),
    BAND_UNKNOWN: _l("未填写出生年份"),
}


def default_target(year: int) -> int:
    first, last = min(DEFAULT_TARGETS), max(DEFAULT_TARGETS)
    return DEFAULT_TARGETS[min(max(year, first), last)]


def target_for(year: int) -> int:
    row = db.session.get(ParticipationTarget, year)
    return row.percent if row is not None else default_target(year)


def targets(years: range) -> list[tuple[int, int, bool]]:
    """``(year, percent, set by the county)`` for each of *years*."""
    rows = {
        row.year: row.percent
        for row in db.session.scalars(
            select(ParticipationTarget).where(ParticipationTarget.year.in_(list(years)))
        )
    }
    return [(year, rows.get(year, default_target(year)), year in rows) for year in years]


# Access -----------------------------------------------------------------------------------


def can_view(user: User, unit: OrgUnit) -> bool:
    """Administrators see the figures of their own subtree."""
    return can_manage_unit(user, unit)


def can_set_targets(user: User) -> bool:
    return is_county_admin(user)


def home_unit(user: User) -> OrgUnit | None:
    """The highest unit *user* administers (their dashboard's first page)."""
    scopes = sorted(
        grant_units(user, Role.ADMIN), key=lambda unit: (unit.path.count("/"), unit.code)
    )
    return scopes[0] if scopes else None


def get_unit_or_404(user: User, unit_id: int | None) -> OrgUnit:
    """The unit whose figures *user* asked for (none: their own highest); 403 for someone who
    administers nothing, 404 for a unit outside their scope."""
    if unit_id is None:
        unit = home_unit(user)
        if unit is None:
            abort(403)
        return unit
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not can_view(user, unit):
        abort(404)
    return unit


# Operations -------------------------------------------------------------------------------


def set_target(actor: User, year: int, percent: int) -> ParticipationTarget:
    """The county's participation target for *year* (the caller checked that *actor* is a
    county administrator). Flushes, never commits."""
    if not 2000 <= year <= 2100:
        raise field_error("year", _("年份应在 2000 到 2100 之间"))
    if not 1 <= percent <= 100:
        raise field_error("percent", _("目标应在 1% 到 100% 之间"))
    row = db.session.get(ParticipationTarget, year)
    if row is None:
        row = ParticipationTarget(year=year)
        db.session.add(row)
    row.percent = percent
    row.set_by_id = actor.id
    row.set_at = utcnow()
    db.session.flush()
    return row


# Figures ----------------------------------------------------------------------------------


@dataclass
class Figures:
    """One unit (or month, category, age band) in one period."""

    key: object
    label: str
    population: int = 0
    registered: int = 0
    took_part: int = 0
    records: int = 0
    hours: Decimal = Decimal("0.0")
    credits: Decimal = Decimal("0.0")
    unit: OrgUnit | None = None

    @property
    def rate(self) -> float | None:
        """Residents who took part, in per cent of the population (None: no population)."""
        return round(100 * self.took_part / self.population, 1) if self.population else None

    @property
    def registered_share(self) -> float | None:
        return round(100 * self.registered / self.population, 1) if self.population else None

    @property
    def took_part_share(self) -> float | None:
        """Of the registered residents (used where no population is known: age bands)."""
        return round(100 * self.took_part / self.registered, 1) if self.registered else None


@dataclass
class Report:
    unit: OrgUnit
    year: int
    target: int
    total: Figures
    children: list[Figures]
    months: list[Figures]
    categories: list[Figures]
    bands: list[Figures]
    refreshed_at: datetime | None = None
    trail: list[OrgUnit] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.total.rate is not None and self.total.rate >= self.target


def last_months(today, count: int = MONTHS_SHOWN) -> list[int]:
    """``YYYYMM`` of the *count* months up to *today*'s, oldest first."""
    year, month = today.year, today.month
    out = []
    for _i in range(count):
        out.append(year * 100 + month)
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def report(unit: OrgUnit, year: int, *, viewer: User | None = None) -> Report:
    """The figures of *unit* and each unit below it in *year*, its last 24 months, its
    categories and age bands in *year*: a handful of indexed rollup rows."""
    children = list(unit.children)
    months = last_months(local_date(utcnow()))
    ids = [unit.id] + [child.id for child in children]
    stat = ParticipationStat
    # Only the rows the page shows (a few hundred, whatever the county's size): every unit's
    # year and registered residents in all categories, the unit's months, its categories.
    rows = db.session.execute(
        select(
            stat.unit_id,
            stat.period,
            stat.category_id,
            stat.age_band,
            stat.residents,
            stat.records,
            stat.hours,
            stat.credits,
        ).where(
            or_(
                and_(
                    stat.unit_id.in_(ids),
                    stat.period.in_([year, SNAPSHOT]),
                    stat.category_id == ALL,
                ),
                and_(stat.unit_id == unit.id, stat.period.in_(months), stat.category_id == ALL),
                and_(stat.unit_id == unit.id, stat.period == year),
            )
        )
    ).all()

    per_unit = {
        u.id: Figures(key=u.id, label=u.name, population=u.population, unit=u)
        for u in [unit, *children]
    }
    per_month = {
        m: Figures(key=m, label=f"{m // 100}-{m % 100:02d}", population=unit.population)
        for m in months
    }
    categories = {
        c.id: c.name
        for c in db.session.scalars(select(Category).order_by(Category.position, Category.id))
    }
    per_category: dict[int, Figures] = {}
    per_band = {b: Figures(key=b, label=str(BAND_LABELS[b])) for b in BANDS}
    for unit_id, period, category_id, band, residents, records, hours, credits in rows:
        hours, credits = Decimal(hours or 0), Decimal(credits or 0)
        if period == SNAPSHOT:
            per_unit[unit_id].registered += residents
            if unit_id == unit.id:
                per_band[band].registered += residents
            continue
        if period == year and category_id == ALL:
            figures = per_unit[unit_id]
            figures.took_part += residents
            figures.records += records
            figures.hours += hours
            figures.credits += credits
            if unit_id == unit.id:
                per_band[band].took_part += residents
                per_band[band].records += records
                per_band[band].hours += hours
                per_band[band].credits += credits
        elif period == year and unit_id == unit.id:
            label = categories.get(category_id) or (
                str(_("线下学习（未分类）")) if category_id == UNCATEGORISED else str(category_id)
            )
            figures = per_category.setdefault(category_id, Figures(key=category_id, label=label))
            figures.took_part += residents
            figures.records += records
            figures.hours += hours
            figures.credits += credits
        if period in per_month and category_id == ALL and unit_id == unit.id:
            figures = per_month[period]
            figures.took_part += residents
            figures.records += records
            figures.hours += hours
            figures.credits += credits
    order = list(categories)
    category_rows = sorted(
        per_category.values(),
        key=lambda f: order.index(f.key) if f.key in order else len(order),
    )
    trail, above = [], unit
    while above is not None:
        trail.append(above)
        above = above.parent
    if viewer is not None:
        trail = [u for u in trail if can_view(viewer, u)]
    state = db.session.get(RollupState, 1)
    return Report(
        unit=unit,
        year=year,
        target=target_for(year),
        total=per_unit[unit.id],
        children=[per_unit[child.id] for child in children],
        months=list(per_month.values()),
        categories=category_rows,
        bands=[per_band[b] for b in BANDS],
        refreshed_at=state.refreshed_at if state else None,
        trail=trail[::-1],
    )


def number(value: Decimal | float | None) -> float | None:
    """A figure for JSON and spreadsheets (a Decimal would become text)."""
    return None if value is None else float(value)

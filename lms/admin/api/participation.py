"""Admin API: participation against the year's target, the same figures as the pages
(:func:`lms.admin.participation.report`), and the yearly targets."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from flask_login import current_user
from pydantic import BaseModel, Field

from lms.admin import api_bp
from lms.admin import participation as figures
from lms.core.api import Id, Schema, endpoint
from lms.core.time import local_date, utcnow
from lms.extensions import db


class ParticipationQuery(Schema):
    unit_id: Id | None = None
    year: int | None = Field(None, ge=2000, le=2100)


class FiguresOut(BaseModel):
    unit_id: int | None = None
    name: str
    population: int | None = None
    registered: int | None = None
    registered_share: float | None = None
    took_part: int
    rate: float | None = None
    took_part_share: float | None = None
    records: int
    hours: float
    credits: float


class ParticipationOut(BaseModel):
    unit: FiguresOut
    year: int
    target: int
    reached: bool
    refreshed_at: datetime | None
    children: list[FiguresOut]
    months: list[FiguresOut]
    categories: list[FiguresOut]
    age_bands: list[FiguresOut]


def _out(row: figures.Figures, *, unit: bool = False, population: bool = True) -> dict:
    data = {
        "name": row.label,
        "took_part": row.took_part,
        "records": row.records,
        "hours": figures.number(row.hours),
        "credits": figures.number(row.credits),
    }
    if unit:
        data |= {
            "unit_id": row.key,
            "registered": row.registered,
            "registered_share": row.registered_share,
        }
    if population:
        data |= {"population": row.population, "rate": row.rate}
    return data


@endpoint(
    api_bp,
    "/admin/participation",
    "GET",
    summary="管理员：本单位及各下级单位的参与率（对照年度目标）、近 24 个月、按分类和年龄段",
    query=ParticipationQuery,
    response=ParticipationOut,
)
def participation(query: ParticipationQuery):
    unit = figures.get_unit_or_404(current_user, query.unit_id)
    this_year = local_date(utcnow()).year
    report = figures.report(unit, query.year or this_year)
    bands = []
    for row in report.bands:
        band = _out(row, population=False)
        band |= {"registered": row.registered, "took_part_share": row.took_part_share}
        bands.append(band)
    return ParticipationOut(
        unit=_out(report.total, unit=True),
        year=report.year,
        target=report.target,
        reached=report.reached,
        refreshed_at=report.refreshed_at,
        children=[_out(row, unit=True) for row in report.children],
        months=[_out(row) for row in report.months],
        categories=[_out(row, population=False) for row in report.categories],
        age_bands=bands,
    ).model_dump(mode="json")


class TargetOut(BaseModel):
    year: int
    percent: int
    set_by_county: bool


class TargetsOut(BaseModel):
    items: list[TargetOut]


@endpoint(
    api_bp,
    "/admin/participation/targets",
    "GET",
    summary="管理员：各年度参与率目标（未设定的年份按 60%→80%→85% 规划）",
    response=TargetsOut,
)
def participation_targets():
    if figures.home_unit(current_user) is None:
        abort(403)
    this_year = local_date(utcnow()).year
    rows = figures.targets(range(this_year - 2, this_year + 3))
    return {"items": [{"year": y, "percent": p, "set_by_county": s} for y, p, s in rows]}


class TargetIn(Schema):
    percent: int = Field(ge=1, le=100)


@endpoint(
    api_bp,
    "/admin/participation/targets/<int:year>",
    "PUT",
    summary="县级管理员：设定某一年的参与率目标",
    body=TargetIn,
    response=TargetOut,
)
def set_participation_target(year: int, body: TargetIn):
    if not figures.can_set_targets(current_user):
        abort(403)
    row = figures.set_target(current_user, year, body.percent)  # a bad year answers 422
    db.session.commit()
    return {"year": row.year, "percent": row.percent, "set_by_county": True}

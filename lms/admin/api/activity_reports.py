"""Admin API: the organisers' activity reports (:mod:`lms.activities.reports`), the same rows
as the pages and downloads."""

from __future__ import annotations

from flask_login import current_user
from pydantic import BaseModel, Field

from lms.activities import reports
from lms.admin import api_bp
from lms.admin.views.activity_reports import unit_and_year
from lms.core.api import Id, Schema, endpoint


class ReportQuery(Schema):
    unit_id: Id | None = None
    year: int | None = Field(None, ge=2000, le=2100)


class TableOut(BaseModel):
    key: str
    title: str
    headers: list[str]
    rows: list[list[str | int | float]]


class ReportsOut(BaseModel):
    unit_id: int
    unit: str
    year: int
    tables: list[TableOut]


@endpoint(
    api_bp,
    "/admin/activity-reports",
    "GET",
    summary="管理员：本单位及下级单位的活动报表（按月、按单位、讲师和志愿者服务时长、送课进社区）",
    query=ReportQuery,
    response=ReportsOut,
)
def activity_reports(query: ReportQuery):
    unit, year = unit_and_year(current_user, query.unit_id, query.year)
    return ReportsOut(
        unit_id=unit.id,
        unit=unit.full_name,
        year=year,
        tables=[
            TableOut(key=table.key, title=table.title, headers=table.headers, rows=table.rows)
            for table in (build(unit, year) for build in reports.REPORTS.values())
        ],
    ).model_dump(mode="json")

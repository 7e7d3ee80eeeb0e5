"""JSON views of the learning file under /api/v1 (API.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from lms.core.api import Schema, endpoint
from lms.records import api_bp
from lms.records.learning_file import ItemKind, build
from lms.records.xapi import statements


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class FileQuery(Schema):
    year: int | None = Field(None, ge=2000, le=2100)
    kind: Literal["enrolment", "lesson", "course", "outcome", "credit"] | None = None
    format: Literal["json", "xapi"] = "json"


class FileItemOut(BaseModel):
    occurred_at: datetime
    kind: str
    title: str
    hours: float | None
    credits: float | None
    detail: str


class YearTotalOut(BaseModel):
    year: int
    hours: float
    credits: float
    records: int


class LearningFileOut(BaseModel):
    account_no: str | None
    items: list[FileItemOut]
    totals: list[YearTotalOut]


@endpoint(
    api_bp,
    "/me/learning-file",
    "GET",
    summary="我的学习档案（?format=xapi 返回 xAPI 语句列表）",
    query=FileQuery,
    response=LearningFileOut,
    responses={200: {"type": "array", "items": {"type": "object"}, "title": "xAPI statements"}},
)
def my_learning_file(query: FileQuery):
    file = build(
        current_user._get_current_object(),
        year=query.year,
        kind=ItemKind(query.kind) if query.kind else None,
    )
    if query.format == "xapi":
        return statements(file)
    return LearningFileOut(
        account_no=file.account.account_no if file.account else None,
        items=[
            FileItemOut(
                occurred_at=item.occurred_at,
                kind=str(item.kind),
                title=item.title,
                hours=_number(item.hours),
                credits=_number(item.credits),
                detail=item.detail,
            )
            for item in file.items
        ],
        totals=[
            YearTotalOut(
                year=t.year, hours=float(t.hours), credits=float(t.credits), records=t.records
            )
            for t in file.totals
        ],
    ).model_dump(mode="json")

"""One way to cut a list into pages, for pages and the API alike (API.md: ``?page=&per_page=``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from lms.extensions import db


@dataclass
class Paged:
    """One page of a list: its *items*, the list's *total*, and where this page stands."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(query: Select, *, page: int, per_page: int, scalars: bool = True) -> Paged:
    """Run *query* for one page (1-based; a page past the end is simply empty). *scalars* False
    returns rows, for queries that select several columns."""
    page = max(1, page)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    window = query.limit(per_page).offset((page - 1) * per_page)
    result = db.session.scalars(window) if scalars else db.session.execute(window)
    return Paged(items=list(result.all()), total=total or 0, page=page, per_page=per_page)


def paginate_list(items: Sequence[Any], *, page: int, per_page: int) -> Paged:
    """The same cut of a list already in memory."""
    page = max(1, page)
    start = (page - 1) * per_page
    return Paged(
        items=list(items[start : start + per_page]), total=len(items), page=page, per_page=per_page
    )

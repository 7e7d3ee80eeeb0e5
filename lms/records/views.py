"""HTML views of the learning file: the page, its PDF and its xAPI export; for oneself
(/me/…) or, for staff, a resident in their scope (/residents/<id>/…)."""

from __future__ import annotations

import json

from flask import render_template, request
from flask_login import current_user, login_required

from lms.core.files import attachment
from lms.core.paging import paginate_list
from lms.core.web import int_arg
from lms.records import bp, documents
from lms.records.access import get_holder_or_404
from lms.records.learning_file import ItemKind, LearningFile, build
from lms.records.xapi import statements

FILE_PAGE_SIZE = 50


def _file(user_id: int | None) -> tuple[LearningFile, int | None, ItemKind | None]:
    """The file asked for, filtered by ``?year=`` and ``?kind=`` (ignored when nonsense)."""
    holder = get_holder_or_404(user_id, current_user._get_current_object())
    year = int_arg("year")
    year = year if year and 2000 <= year <= 2100 else None
    kind = request.args.get("kind")
    kind = ItemKind(kind) if kind in ItemKind._value2member_map_ else None
    return build(holder, year=year, kind=kind), year, kind


@bp.get("/me/learning-file", endpoint="my_learning_file")
@bp.get("/residents/<int:user_id>/learning-file")
@login_required
def learning_file(user_id: int | None = None):
    file, year, kind = _file(user_id)
    page = paginate_list(file.items, page=int_arg("page", 1) or 1, per_page=FILE_PAGE_SIZE)
    if page.page > page.pages:  # past the end: the last page
        page = paginate_list(file.items, page=page.pages, per_page=FILE_PAGE_SIZE)
    return render_template(
        "records/learning_file.html",
        file=file,
        shown=page.items,
        page=page.page,
        pages=page.pages,
        year=year,
        kind=kind,
        kinds=list(ItemKind),
        own=file.holder.id == current_user.id,
        user_id=user_id,
    )


@bp.get("/me/learning-file.pdf", endpoint="my_learning_file_pdf")
@bp.get("/residents/<int:user_id>/learning-file.pdf")
@login_required
def learning_file_pdf(user_id: int | None = None):
    file, _year, _kind = _file(user_id)
    return attachment(
        documents.learning_file_pdf(file), f"学习档案-{file.holder.name}.pdf", "application/pdf"
    )


@bp.get("/me/learning-file.xapi.json", endpoint="my_learning_file_xapi")
@bp.get("/residents/<int:user_id>/learning-file.xapi.json")
@login_required
def learning_file_xapi(user_id: int | None = None):
    file, _year, _kind = _file(user_id)
    body = json.dumps(statements(file), ensure_ascii=False, indent=1).encode()
    return attachment(body, f"学习档案-{file.holder.name}.xapi.json", "application/json")

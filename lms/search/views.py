"""The search page residents reach from the header's search box."""

from __future__ import annotations

from flask import current_app, render_template, request
from sqlalchemy import select

from lms.core.web import int_arg
from lms.courses.models import Category
from lms.extensions import db
from lms.search import bp
from lms.search.query import clean_query, search


@bp.get("/search")
def results():
    q = clean_query(request.args.get("q"))
    category_id = int_arg("category")
    town = (request.args.get("town") or "").strip()[:100] or None
    page = min(int_arg("page", 1), 10_000)
    found = search(
        q,
        category_id=category_id,
        town=town,
        page=page,
        per_page=current_app.config["LMS_PAGE_SIZE"],
    )
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    return render_template(
        "search/results.html",
        found=found,
        category_names=names,
        category_id=category_id,
        town=town,
    )

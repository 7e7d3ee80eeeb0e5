"""The search page residents reach from the header's search box, and the dictionary page
county administrators keep."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.core.errors import OperationError
from lms.core.forms import attempt, render_form, show_errors
from lms.core.web import int_arg
from lms.courses.models import Category
from lms.extensions import db
from lms.search import access, bp, operations
from lms.search.forms import DictionaryForm
from lms.search.query import clean_query, search

MAX_UPLOAD_BYTES = 1024**2


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


@bp.route("/search/dictionary", methods=["GET", "POST"])
@login_required
def dictionary():
    access.ensure_can_edit_dictionary(current_user)
    form = DictionaryForm()
    if form.validate_on_submit():
        text = form.words.data or ""
        upload = form.upload.data
        try:
            if upload and getattr(upload, "filename", ""):
                text = _uploaded_text(upload)
        except OperationError as error:
            show_errors(form, error)
        else:
            with attempt(form, done=_("词表已保存，索引重建后生效")) as result:
                operations.replace_words(text, by=current_user)
            if result.ok:
                return redirect(url_for("search.dictionary"))
    elif not form.is_submitted():
        form.words.data = operations.word_list_text()
    return render_form("search/dictionary.html", form)


def _uploaded_text(upload) -> str:
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise OperationError(_("词表文件不能超过 1 MB"), fields={"upload": [_("文件太大")]})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = _("词表文件应为 UTF-8 编码的文本文件")
        raise OperationError(message, fields={"upload": [message]}) from None

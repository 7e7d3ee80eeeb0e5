"""Admin pages: bulk import of residents (/admin/imports): the template, the upload and its dry
run, the import (in the job queue for large rolls, with a progress bar), the printable list of
one-time passwords."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.accounts import access
from lms.admin import bp, exports, imports
from lms.admin.imports_read import COLUMNS, MAX_BYTES, ImportFileError, read_table
from lms.admin.imports_tasks import import_residents
from lms.core.forms import EmptyForm, require_form_token
from lms.core.jobs import after_commit
from lms.extensions import db

# Rolls with more good rows than this are imported by the job queue.
INLINE_ROWS = 300


def get_import_or_404(batch_id: int) -> imports.ResidentImport:
    """An import of the current user's (nobody else sees its one-time passwords)."""
    batch = db.session.get(imports.ResidentImport, batch_id)
    if batch is None or batch.created_by_id != current_user.id:
        abort(404)
    return batch


def _page(error: str | None = None, status: int = 200):
    recent = db.session.scalars(
        select(imports.ResidentImport)
        .filter_by(created_by_id=current_user.id)
        .order_by(imports.ResidentImport.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "admin/imports.html",
        recent=recent,
        error=error,
        empty=EmptyForm(),
        columns=COLUMNS,
        max_mb=MAX_BYTES // (1024 * 1024),
    ), status


@bp.get("/admin/imports", endpoint="imports")
@login_required
def imports_page():
    access.require_admin(current_user)
    return _page()


@bp.get("/admin/imports/template.xlsx")
@login_required
def import_template():
    access.require_admin(current_user)
    headers = [str(header) for header, _required in COLUMNS.values()]
    return exports.download(headers, [], "居民导入模板", "xlsx")


@bp.post("/admin/imports")
@login_required
def upload_import():
    access.require_admin(current_user)
    require_form_token()
    if (request.content_length or 0) > MAX_BYTES + 64 * 1024:
        return _page(_("文件太大（上限 %(n)s MB），请分成几个文件导入", n=MAX_BYTES // 2**20), 413)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(_("请选择要导入的文件（.xlsx 或 .csv）"), 400)
    try:
        data = upload.stream.read(MAX_BYTES + 1)
    finally:
        upload.close()  # a large upload is spooled to a temporary file
    name = upload.filename.rsplit("/", 1)[-1][:200]
    try:
        table = read_table(data, name)
    except ImportFileError as error:
        return _page(error.message, error.status)
    rows = imports.check_rows(current_user, table)
    extension = "xlsx" if data[:4] == b"PK\x03\x04" else "csv"
    batch = imports.record_dry_run(
        current_user, table, rows, filename=name, data=data, extension=extension
    )
    db.session.commit()
    return redirect(url_for("admin.import_detail", batch_id=batch.id))


@bp.get("/admin/imports/<int:batch_id>")
@login_required
def import_detail(batch_id: int):
    access.require_admin(current_user)
    batch = get_import_or_404(batch_id)
    return render_template(
        "admin/import.html",
        batch=batch,
        Status=imports.ImportStatus,
        problems=batch.problems[:500],
        empty=EmptyForm(),
    )


@bp.get("/admin/imports/<int:batch_id>/problems.<fmt>")
@login_required
def import_problems(batch_id: int, fmt: str):
    access.require_admin(current_user)
    batch = get_import_or_404(batch_id)
    return exports.download(
        [_("行"), _("列"), _("问题")], batch.problems, f"导入问题-{batch.id}", fmt
    )


@bp.post("/admin/imports/<int:batch_id>/run")
@login_required
def run_import(batch_id: int):
    access.require_admin(current_user)
    require_form_token()
    batch = get_import_or_404(batch_id)
    if batch.status is not imports.ImportStatus.CHECKED:
        return redirect(url_for("admin.import_detail", batch_id=batch.id))
    if batch.good_rows <= INLINE_ROWS:
        batch = imports.claim(batch.id, from_status=imports.ImportStatus.CHECKED)
        if batch is not None:
            imports.run_import(batch)
            db.session.commit()
            flash(
                _("导入完成：新增 %(c)s 人，更新 %(u)s 人", c=batch.created, u=batch.updated),
                "success",
            )
        return redirect(url_for("admin.import_detail", batch_id=batch_id))
    batch.status = imports.ImportStatus.QUEUED
    after_commit(db.session, import_residents, batch.id)
    db.session.commit()
    return redirect(url_for("admin.import_detail", batch_id=batch_id))


@bp.get("/admin/imports/<int:batch_id>/status")
@login_required
def import_status(batch_id: int):
    """What the progress bar polls (static/js/import-status.js)."""
    access.require_admin(current_user)
    batch = get_import_or_404(batch_id)
    return {
        "status": batch.status.value,
        "status_label": batch.status.label,
        "progress": batch.progress,
        "processed": batch.processed,
        "good_rows": batch.good_rows,
    }


@bp.get("/admin/imports/<int:batch_id>/slips")
@login_required
def import_slips(batch_id: int):
    access.require_admin(current_user)
    batch = get_import_or_404(batch_id)
    slips = imports.printable_slips(batch, current_user)
    response = make_response(
        render_template("admin/slip.html", slips=slips, title=_("新居民登录凭条"))
    )
    response.headers["Cache-Control"] = "no-store"
    return response

"""Signed ledger checkpoints (``credits.checkpoints``): the public list and files, readable
without signing in, and the button with which county officers make one now."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.core.forms import EmptyForm, require_form_token
from lms.core.paging import paginate
from lms.credits import access, bp, checkpoints
from lms.credits.models import LedgerCheckpoint
from lms.credits.tasks import make_checkpoint
from lms.extensions import db

PER_PAGE = 30


def checkpoint_or_404(number: int | None) -> LedgerCheckpoint:
    """The checkpoint *number*, or the latest one when None; 404 when there is none."""
    if number is None:
        found = checkpoints.latest()
    else:
        found = db.session.scalar(select(LedgerCheckpoint).filter_by(number=number))
    if found is None:
        abort(404)
    return found


def signed_json(checkpoint: LedgerCheckpoint):
    response = jsonify(checkpoint.document)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def leaves_file(checkpoint: LedgerCheckpoint):
    response = make_response(checkpoint.leaves)
    response.headers["Content-Type"] = "application/gzip"
    name = checkpoints.file_names(checkpoint.number)[1]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/credits/checkpoints")
def checkpoint_list():
    page = paginate(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.number.desc()),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
    )
    signed_in = current_user.is_authenticated
    return render_template(
        "credits/checkpoints.html",
        page=page,
        can_make=signed_in and access.can_make_checkpoint(current_user),
        registrar_nav=signed_in and access.is_registrar(current_user),
        form=EmptyForm(),
    )


@bp.post("/credits/checkpoints")
@login_required
def make_checkpoint_now():
    access.require_checkpoint_maker(current_user)
    require_form_token()
    make_checkpoint()  # a job: reading every account's head takes a while in a large county
    flash(_("已开始生成账本检查点，稍后刷新本页即可看到"), "success")
    return redirect(url_for("credits.checkpoint_list"))


@bp.get("/credits/checkpoints/latest")
def latest_checkpoint():
    return signed_json(checkpoint_or_404(None))


@bp.get("/credits/checkpoints/<int:number>")
def checkpoint(number: int):
    return signed_json(checkpoint_or_404(number))


@bp.get("/credits/checkpoints/<int:number>/leaves.gz")
def checkpoint_leaves(number: int):
    return leaves_file(checkpoint_or_404(number))

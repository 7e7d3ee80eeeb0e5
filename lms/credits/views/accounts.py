"""我的学分 for the resident; for registrars, finding a resident's account and reading it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.accounts.validation import normalize_phone
from lms.core.forms import EmptyForm
from lms.credits import access, bp, operations
from lms.credits.forms import ReasonForm
from lms.credits.models import EntryKind, LearningOutcome, Transcript
from lms.credits.operations.rules import describe_rule
from lms.extensions import db


@bp.app_template_global()
def entry_note(entry) -> str:
    """The note under a ledger entry. A deposit for an outcome notes the conversion rule it
    used, stored in the words of the day it was posted; the page says that rule again in the
    reader's language (the stored memo stays as it was: the ledger is append-only)."""
    if entry.kind is EntryKind.DEPOSIT and entry.outcome_id is not None:
        return describe_rule(entry.rule)
    return entry.memo


@bp.get("/me/credits")
@login_required
def my_credits():
    account = operations.account_for(current_user)
    entries = operations.entries_newest_first(account)
    outcomes = db.session.scalars(
        select(LearningOutcome)
        .filter_by(user_id=current_user.id)
        .order_by(LearningOutcome.created_at.desc())
    ).all()
    transcripts = db.session.scalars(
        select(Transcript).filter_by(user_id=current_user.id).order_by(Transcript.issued_at.desc())
    ).all()
    return render_template(
        "credits/my_credits.html",
        account=account,
        entries=entries,
        outcomes=outcomes,
        transcripts=transcripts,
        empty=EmptyForm(),
    )


@bp.get("/credits/accounts")
@login_required
def find_account():
    """A registrar looks a resident up by mobile number (to see or correct their account)."""
    access.require_registrar(current_user)
    try:
        phone = normalize_phone(request.args.get("phone"))
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for("credits.review"))
    resident = access.find_account_holder(phone, current_user)
    if resident is None:
        flash(_("您管辖的范围内没有这个手机号的居民"), "error")
        return redirect(url_for("credits.review"))
    return redirect(url_for("credits.account", user_id=resident.id))


@bp.get("/credits/accounts/<int:user_id>")
@login_required
def account(user_id: int):
    resident = access.get_account_holder_or_404(user_id, current_user)
    credit_account = operations.account_for(resident)
    entries = operations.entries_newest_first(credit_account)
    reversed_ids = {entry.reverses_id for entry in entries if entry.reverses_id}
    return render_template(
        "credits/account.html",
        resident=resident,
        account=credit_account,
        entries=entries,
        reversed_ids=reversed_ids,
        form=ReasonForm(prefix="reverse"),
    )

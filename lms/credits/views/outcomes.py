"""Offline outcomes: the resident's form and evidence; the registrars' review queue, the
decision on one outcome, and the reversal of a posting."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.core.files import send_media_file
from lms.core.forms import Attempt, EmptyForm, attempt, render_form, require_form_token
from lms.core.time import local_date, utcnow
from lms.credits import access, bp, operations
from lms.credits.forms import OutcomeForm, ReasonForm
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeKind, OutcomeStatus
from lms.credits.operations import transfers
from lms.extensions import db


@bp.route("/me/outcomes/new", methods=["GET", "POST"])
@login_required
def new_outcome():
    form = OutcomeForm()
    status = None
    if form.validate_on_submit():
        files = [(f.stream, f.filename) for f in request.files.getlist("evidence") if f.filename]
        with attempt(form, done=_("已提交，学分银行专员认证后会通知您")) as result:
            operations.submit_outcome(
                current_user,
                kind=OutcomeKind(form.kind.data),
                title=form.title.data,
                hours=form.hours.data,
                occurred_on=form.occurred_on.data,
                issuer=form.issuer.data,
                description=form.description.data,
                evidence=files,
            )
        if result.ok:
            return redirect(url_for("credits.my_credits"))
        status = result.error.status
    return render_form("credits/outcome_form.html", form, status=status, rules=_rule_texts())


def _rule_texts() -> dict[str, str]:
    """What each offline kind earns today, shown beside the form (the preview for residents)."""
    today = local_date(utcnow())
    return {
        kind.label: operations.describe_rule(operations.applicable_rule(kind, None, today))
        for kind in OutcomeKind.offline()
    }


@bp.get("/credits/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int):
    item = access.get_evidence_or_404(evidence_id, current_user)
    return send_media_file(item.path, item.content_type, cache=False, download_name=item.filename)


@bp.get("/credits/review")
@login_required
def review():
    access.require_registrar(current_user)
    status = request.args.get("status", OutcomeStatus.PENDING.value)
    status = (
        OutcomeStatus(status)
        if status in OutcomeStatus._value2member_map_
        else OutcomeStatus.PENDING
    )
    outcomes = access.review_queue(current_user, status, limit=200)
    return render_template(
        "credits/review.html", outcomes=outcomes, status=status, statuses=list(OutcomeStatus)
    )


@bp.route("/credits/outcomes/<int:outcome_id>", methods=["GET"])
@login_required
def outcome(outcome_id: int):
    item = access.get_outcome_or_404(outcome_id, current_user)
    entries = db.session.scalars(
        select(LedgerEntry).filter_by(outcome_id=item.id).order_by(LedgerEntry.seq)
    ).all()
    return render_template(
        "credits/outcome.html",
        outcome=item,
        entries=entries,
        # Nobody decides on their own outcome (the operations refuse it; the page does not offer it).
        can_decide=access.can_certify(current_user, item) and item.user_id != current_user.id,
        reject_form=ReasonForm(prefix="reject"),
        reverse_form=ReasonForm(prefix="reverse"),
        empty=EmptyForm(),
        imported=transfers.imported_for(item),
    )


def _after_decision(item: LearningOutcome, result: Attempt):
    """Back to the queue once decided; back to the outcome when the decision was refused."""
    if result.ok:
        return redirect(url_for("credits.review"))
    return redirect(url_for("credits.outcome", outcome_id=item.id))


@bp.post("/credits/outcomes/<int:outcome_id>/certify")
@login_required
def certify(outcome_id: int):
    item = access.get_outcome_or_404(outcome_id, current_user, to_decide=True)
    require_form_token()
    with attempt(done=_("已认证，学分已记入账户")) as result:
        operations.certify_outcome(current_user, item)
    return _after_decision(item, result)


@bp.post("/credits/outcomes/<int:outcome_id>/reject")
@login_required
def reject(outcome_id: int):
    item = access.get_outcome_or_404(outcome_id, current_user, to_decide=True)
    form = ReasonForm(prefix="reject")
    if not form.validate_on_submit():
        flash(_("请写明不通过的原因，方便居民补充材料"), "error")
        return redirect(url_for("credits.outcome", outcome_id=item.id))
    with attempt(done=_("已退回，居民会收到通知")) as result:
        operations.reject_outcome(current_user, item, reason=form.reason.data)
    return _after_decision(item, result)


@bp.post("/credits/entries/<int:entry_id>/reverse")
@login_required
def reverse(entry_id: int):
    entry = access.get_entry_or_404(entry_id, current_user, to_reverse=True)
    form = ReasonForm(prefix="reverse")
    back = _safe(
        request.form.get("next") or url_for("credits.account", user_id=entry.account.user_id)
    )
    if not form.validate_on_submit():
        flash(_("请写明冲正的原因"), "error")
        return redirect(back)
    with attempt(done=_("已冲正；列出这笔学分的学分证明已一并撤销")):
        operations.reverse_entry(current_user, entry, reason=form.reason.data)
    return redirect(back)


def _safe(target: str) -> str:
    """Only a path on this site is followed back; anything else goes to the queue."""
    return (
        target
        if target.startswith("/") and not target.startswith("//")
        else url_for("credits.review")
    )

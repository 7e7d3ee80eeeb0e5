"""Conversion rules: registrars read them and preview a conversion; county registrars publish,
change (a new version) and retire them."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.core.forms import EmptyForm, attempt, render_form, require_form_token
from lms.core.time import local_date, utcnow
from lms.core.web import int_arg
from lms.courses.models import Category
from lms.credits import access, bp, operations
from lms.credits.forms import PreviewForm, RuleForm
from lms.credits.models import ConversionRule, OutcomeKind, RuleMode, TrustedIssuer
from lms.extensions import db


def _categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


@bp.route("/credits/rules", methods=["GET", "POST"])
@login_required
def rules():
    access.require_registrar(current_user)
    if request.method == "POST":
        access.require_rule_keeper(current_user)
    categories = _categories()
    rule_id = int_arg("edit")
    replaces = access.get_rule_or_404(rule_id, current=True) if rule_id is not None else None
    form = RuleForm(
        categories=categories,
        issuers=access.current_trusted_issuers(),
        obj=replaces if request.method == "GET" and replaces else None,
    )
    if replaces is not None and request.method == "GET":
        form.category_id.data = replaces.category_id or 0
    if form.validate_on_submit():
        with attempt(form, done=_("折算规则已发布；已入账的学分不受影响")) as result:
            operations.save_rule(
                current_user,
                kind=OutcomeKind(form.kind.data),
                category=db.session.get(Category, form.category_id.data)
                if form.category_id.data
                else None,
                mode=RuleMode(form.mode.data),
                hours_per_credit=form.hours_per_credit.data,
                fixed_credits=form.fixed_credits.data,
                yearly_cap=form.yearly_cap.data,
                valid_from=form.valid_from.data,
                valid_until=form.valid_until.data,
                note=form.note.data,
                replaces=replaces,
                issuer=db.session.get(TrustedIssuer, form.issuer_id.data)
                if form.issuer_id.data
                else None,
                achievement_type=form.achievement_type.data or None,
                credit_ratio=form.credit_ratio.data,
            )
        if result.ok:
            return redirect(url_for("credits.rules"))
    preview = PreviewForm(
        request.args, categories=categories, prefix="preview", meta={"csrf": False}
    )
    conversion = None
    if "preview-hours" in request.args and preview.validate():
        conversion = operations.convert(
            OutcomeKind(preview.kind.data),
            preview.hours.data,
            category_id=preview.category_id.data or None,
            on=preview.occurred_on.data or local_date(utcnow()),
        )
    history = db.session.scalars(
        select(ConversionRule).order_by(ConversionRule.family_id, ConversionRule.version.desc())
    ).all()
    return render_form(
        "credits/rules.html",
        form,
        current=operations.current_rules(),
        history=history,
        preview=preview,
        conversion=conversion,
        replaces=replaces,
        can_keep=access.can_keep_rules(current_user),
        describe=operations.describe_rule,
        empty=EmptyForm(),
    )


@bp.post("/credits/rules/<int:rule_id>/retire")
@login_required
def retire_rule(rule_id: int):
    rule = access.get_rule_or_404(rule_id)
    access.require_rule_keeper(current_user)
    require_form_token()
    with attempt(done=_("规则已停用")):
        operations.retire_rule(current_user, rule)
    return redirect(url_for("credits.rules"))

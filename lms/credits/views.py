"""HTML views of the credit bank: 我的学分, 学习档案, offline outcomes, the registrars' review
queue, conversion rules, transcripts and the public verify page."""

from __future__ import annotations

import json

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.accounts import access as accounts_access
from lms.accounts.models import Role, User
from lms.accounts.validation import normalize_phone
from lms.core.errors import OperationError
from lms.core.files import content_disposition, send_media_file
from lms.core.forms import EmptyForm, render_form, require_form_token, show_errors
from lms.core.time import local_date, utcnow
from lms.core.web import int_arg
from lms.courses.models import Category
from lms.credits import access, bp, documents, operations, verification
from lms.credits.forms import (
    OutcomeForm,
    PreviewForm,
    ReasonForm,
    RuleForm,
    VerifyFileForm,
    VerifyForm,
)
from lms.credits.learning_file import ItemKind, build
from lms.credits.models import (
    ConversionRule,
    LearningOutcome,
    LedgerEntry,
    OutcomeEvidence,
    OutcomeKind,
    OutcomeStatus,
    RuleMode,
    Transcript,
)
from lms.credits.signing import jwks
from lms.credits.xapi import statements
from lms.extensions import db

FILE_PAGE_SIZE = 50


# Resident: credits, outcomes, transcripts ----------------------------------------------------


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


@bp.route("/me/outcomes/new", methods=["GET", "POST"])
@login_required
def new_outcome():
    form = OutcomeForm()
    if form.validate_on_submit():
        files = [(f.stream, f.filename) for f in request.files.getlist("evidence") if f.filename]
        try:
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
        except OperationError as error:
            db.session.rollback()
            show_errors(form, error)
            return render_form(
                "credits/outcome_form.html", form, status=error.status, rules=_rule_texts()
            )
        db.session.commit()
        flash(_("已提交，学分银行专员认证后会通知您"), "success")
        return redirect(url_for("credits.my_credits"))
    return render_form("credits/outcome_form.html", form, rules=_rule_texts())


def _rule_texts() -> dict[str, str]:
    """What each offline kind earns today, shown beside the form (the preview for residents)."""
    today = local_date(utcnow())
    return {
        kind.label: operations.describe_rule(operations.applicable_rule(kind, None, today))
        for kind in OutcomeKind.offline()
    }


@bp.post("/me/transcripts")
@login_required
def issue_transcript():
    require_form_token()
    try:
        transcript = operations.issue_transcript(current_user)
    except OperationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("credits.my_credits"))
    db.session.commit()
    flash(_("学分证明已开具，编号 %(serial)s", serial=transcript.serial), "success")
    return redirect(url_for("credits.my_credits", _anchor="transcripts"))


def _transcript_for_download(serial: str) -> Transcript:
    """The owner downloads without a code; anyone else needs the code from the QR link."""
    transcript = db.session.scalar(select(Transcript).filter_by(serial=serial.upper()))
    if (
        transcript is not None
        and current_user.is_authenticated
        and transcript.user_id == current_user.id
    ):
        return transcript
    transcript = verification.find_transcript(serial, request.args.get("code"))
    if transcript is None:
        abort(404)
    return transcript


@bp.get("/transcripts/<serial>.pdf")
def transcript_pdf(serial: str):
    transcript = _transcript_for_download(serial)
    return _attachment(
        documents.transcript_pdf(transcript), f"学分证明-{transcript.serial}.pdf", "application/pdf"
    )


@bp.get("/transcripts/<serial>.json")
def transcript_json(serial: str):
    transcript = _transcript_for_download(serial)
    body = json.dumps(transcript.document, ensure_ascii=False, indent=2).encode()
    return _attachment(body, f"学分证明-{transcript.serial}.json", "application/json")


def _attachment(body: bytes, name: str, mimetype: str, *, inline: bool = False):
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = content_disposition(name, inline=inline)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/credits/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int):
    item = db.session.get(OutcomeEvidence, evidence_id)
    if item is None or not access.can_view_outcome(current_user, item.outcome):
        abort(404)
    return send_media_file(item.path, item.content_type, cache=False, download_name=item.filename)


# Learning file ---------------------------------------------------------------------------------


def _file_filters() -> tuple[int | None, ItemKind | None]:
    year = int_arg("year")
    year = year if year and 2000 <= year <= 2100 else None
    kind = request.args.get("kind")
    return year, ItemKind(kind) if kind in ItemKind._value2member_map_ else None


def _holder(user_id: int | None) -> User:
    """The resident whose file is asked for: oneself, or someone in the viewer's scope."""
    if user_id is None:
        return current_user._get_current_object()
    return access.get_resident_or_404(user_id, current_user)


@bp.get("/me/learning-file", endpoint="my_learning_file")
@bp.get("/residents/<int:user_id>/learning-file")
@login_required
def learning_file(user_id: int | None = None):
    holder = _holder(user_id)
    year, kind = _file_filters()
    file = build(holder, year=year, kind=kind)
    pages = max(1, -(-len(file.items) // FILE_PAGE_SIZE))
    page = min(int_arg("page", 1), pages)
    shown = file.items[(page - 1) * FILE_PAGE_SIZE : page * FILE_PAGE_SIZE]
    return render_template(
        "credits/learning_file.html",
        file=file,
        shown=shown,
        page=page,
        pages=pages,
        year=year,
        kind=kind,
        kinds=list(ItemKind),
        own=holder.id == current_user.id,
        user_id=user_id,
    )


@bp.get("/me/learning-file.pdf", endpoint="my_learning_file_pdf")
@bp.get("/residents/<int:user_id>/learning-file.pdf")
@login_required
def learning_file_pdf(user_id: int | None = None):
    holder = _holder(user_id)
    year, kind = _file_filters()
    body = documents.learning_file_pdf(build(holder, year=year, kind=kind))
    return _attachment(body, f"学习档案-{holder.name}.pdf", "application/pdf")


@bp.get("/me/learning-file.xapi.json", endpoint="my_learning_file_xapi")
@bp.get("/residents/<int:user_id>/learning-file.xapi.json")
@login_required
def learning_file_xapi(user_id: int | None = None):
    holder = _holder(user_id)
    year, kind = _file_filters()
    body = json.dumps(statements(build(holder, year=year, kind=kind)), ensure_ascii=False, indent=1)
    return _attachment(body.encode(), f"学习档案-{holder.name}.xapi.json", "application/json")


# Registrars: review, reverse, rules ----------------------------------------------------------


def _require_registrar() -> None:
    if not access.is_registrar(current_user):
        abort(403)


@bp.get("/credits/review")
@login_required
def review():
    _require_registrar()
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
        can_decide=access.can_certify(current_user, item),
        reject_form=ReasonForm(prefix="reject"),
        reverse_form=ReasonForm(prefix="reverse"),
        empty=EmptyForm(),
    )


@bp.post("/credits/outcomes/<int:outcome_id>/certify")
@login_required
def certify(outcome_id: int):
    item = access.get_outcome_or_404(outcome_id, current_user)
    require_form_token()
    return _decided(
        item, lambda: operations.certify_outcome(current_user, item), _("已认证，学分已记入账户")
    )


@bp.post("/credits/outcomes/<int:outcome_id>/reject")
@login_required
def reject(outcome_id: int):
    item = access.get_outcome_or_404(outcome_id, current_user)
    form = ReasonForm(prefix="reject")
    if not form.validate_on_submit():
        flash(_("请写明不通过的原因，方便居民补充材料"), "error")
        return redirect(url_for("credits.outcome", outcome_id=item.id))
    return _decided(
        item,
        lambda: operations.reject_outcome(current_user, item, reason=form.reason.data),
        _("已退回，居民会收到通知"),
    )


def _decided(item: LearningOutcome, action, message: str):
    try:
        action()
    except OperationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("credits.outcome", outcome_id=item.id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("credits.review"))


@bp.post("/credits/entries/<int:entry_id>/reverse")
@login_required
def reverse(entry_id: int):
    entry = access.get_entry_or_404(entry_id, current_user)
    form = ReasonForm(prefix="reverse")
    back = request.form.get("next") or url_for("credits.account", user_id=entry.account.user_id)
    if not form.validate_on_submit():
        flash(_("请写明冲正的原因"), "error")
        return redirect(_safe(back))
    try:
        operations.reverse_entry(current_user, entry, reason=form.reason.data)
    except OperationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_safe(back))
    db.session.commit()
    flash(_("已冲正；列出这笔学分的学分证明已一并撤销"), "success")
    return redirect(_safe(back))


def _safe(target: str) -> str:
    return (
        target
        if target.startswith("/") and not target.startswith("//")
        else url_for("credits.review")
    )


@bp.get("/credits/accounts")
@login_required
def find_account():
    """A registrar looks a resident up by mobile number (to see or correct their account)."""
    _require_registrar()
    try:
        phone = normalize_phone(request.args.get("phone"))
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for("credits.review"))
    resident = db.session.scalar(select(User).filter_by(phone=phone))
    if resident is None or not accounts_access.has_role_over(
        current_user, Role.REGISTRAR, resident.org_unit
    ):
        flash(_("您管辖的范围内没有这个手机号的居民"), "error")
        return redirect(url_for("credits.review"))
    return redirect(url_for("credits.account", user_id=resident.id))


@bp.get("/credits/accounts/<int:user_id>")
@login_required
def account(user_id: int):
    resident = db.session.get(User, user_id)
    if resident is None or not accounts_access.has_role_over(
        current_user, Role.REGISTRAR, resident.org_unit
    ):
        abort(404)
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


def _categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


@bp.route("/credits/rules", methods=["GET", "POST"])
@login_required
def rules():
    _require_registrar()
    if request.method == "POST" and not access.can_keep_rules(current_user):
        abort(403)
    categories = _categories()
    replaces = None
    if (rule_id := int_arg("edit")) is not None:
        replaces = db.session.get(ConversionRule, rule_id)
        if replaces is None or not replaces.current:
            abort(404)
    form = RuleForm(
        categories=categories, obj=replaces if request.method == "GET" and replaces else None
    )
    if replaces is not None and request.method == "GET":
        form.category_id.data = replaces.category_id or 0
    if form.validate_on_submit():
        try:
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
            )
        except OperationError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("折算规则已发布；已入账的学分不受影响"), "success")
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
    rule = db.session.get(ConversionRule, rule_id) or abort(404)
    require_form_token()
    try:
        operations.retire_rule(current_user, rule)
    except OperationError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("规则已停用"), "success")
    return redirect(url_for("credits.rules"))


# Public verification -------------------------------------------------------------------------


@bp.route("/verify", methods=["GET", "POST"])
def verify_form():
    form = VerifyForm(request.args, meta={"csrf": False})
    if request.args and form.validate():
        return redirect(
            url_for(
                "credits.verify",
                serial=form.serial.data.strip().upper(),
                code=form.code.data.strip(),
            )
        )
    upload = VerifyFileForm()
    verdict = None
    if upload.validate_on_submit():
        data = request.files.get("document")
        raw = data.stream.read(2 * 1024 * 1024 + 1) if data else b""
        try:
            document = json.loads(raw) if raw and len(raw) <= 2 * 1024 * 1024 else None
        except (ValueError, UnicodeDecodeError):
            document = None
        verdict = (
            verification.check_document(document)
            if document is not None
            else verification.Verdict(False, False, _("请上传学分证明的 JSON 文件（2 MB 以内）"))
        )
    status = (
        422 if verdict is not None and not verdict.valid and verdict.transcript is None else 200
    )
    return render_template("credits/verify.html", form=form, upload=upload, verdict=verdict), status


@bp.get("/verify/<serial>")
def verify(serial: str):
    transcript = verification.find_transcript(serial, request.args.get("code"))
    if transcript is None:
        verdict = verification.Verdict(False, False, _("没有找到这份学分证明：编号或核验码不正确"))
        return render_template(
            "credits/verify.html",
            form=VerifyForm(meta={"csrf": False}),
            upload=VerifyFileForm(),
            verdict=verdict,
            serial=serial,
        ), 404
    verdict = verification.verdict_for(transcript)
    return render_template(
        "credits/verify.html",
        form=VerifyForm(meta={"csrf": False}),
        upload=VerifyFileForm(),
        verdict=verdict,
        code=request.args.get("code"),
    )


@bp.get("/.well-known/lms-transcript-keys.json")
def public_keys():
    response = jsonify(jwks())
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

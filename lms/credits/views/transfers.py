"""Credits from elsewhere (学分互认) on the site: the trust list (county registrars), the
upload of a credential by a resident on 我的学分 or by a registrar for a resident, and the list
of imported credentials revoked at their source."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.core.forms import EmptyForm, attempt, render_form, require_form_token
from lms.credits import access, bp, operations
from lms.credits.credentials import foreign, verify
from lms.credits.credentials.issue import standing_deposit
from lms.credits.forms import ImportForm, ReasonForm, TrustedIssuerForm
from lms.credits.models import TrustedIssuer
from lms.extensions import db


@bp.route("/credits/trusted-issuers", methods=["GET", "POST"])
@login_required
def trusted_issuers():
    access.require_registrar(current_user)
    form = TrustedIssuerForm()
    if request.method == "POST":
        access.require_trust_keeper(current_user)
    if form.validate_on_submit():
        with attempt(form, done=_("已加入可信名单；对方的公钥已记下")) as result:
            operations.add_trusted_issuer(
                current_user,
                name=form.name.data,
                did=form.did.data,
                trusted_from=form.trusted_from.data,
                achievement_types=form.achievement_types.data,
                did_document=form.did_document.data or "",
                public_key=form.public_key.data or "",
                origin=form.origin.data or "",
                note=form.note.data or "",
            )
        if result.ok:
            return redirect(url_for("credits.trusted_issuers"))
    issuers = db.session.scalars(
        select(TrustedIssuer).order_by(TrustedIssuer.retired_at.is_not(None), TrustedIssuer.name)
    ).all()
    return render_form(
        "credits/trusted_issuers.html",
        form,
        issuers=issuers,
        types=foreign.ACHIEVEMENT_TYPES,
        can_keep=access.can_keep_rules(current_user),
        empty=EmptyForm(),
    )


@bp.post("/credits/trusted-issuers/<int:issuer_id>/retire")
@login_required
def retire_trusted_issuer(issuer_id: int):
    issuer = access.get_trusted_issuer_or_404(issuer_id)
    access.require_trust_keeper(current_user)
    require_form_token()
    with attempt(done=_("已停止互认这个单位；已转入的学分不受影响")):
        operations.retire_trusted_issuer(current_user, issuer)
    return redirect(url_for("credits.trusted_issuers"))


@bp.post("/credits/trusted-issuers/<int:issuer_id>/keys")
@login_required
def refresh_trusted_issuer_keys(issuer_id: int):
    issuer = access.get_trusted_issuer_or_404(issuer_id)
    access.require_trust_keeper(current_user)
    require_form_token()
    with attempt() as result:
        added = operations.refresh_trusted_issuer_keys(current_user, issuer)
    if result.ok:
        flash(
            _("已取回新的公钥 %(n)s 个；原有的公钥保留", n=added)
            if added
            else _("对方的公钥没有变化"),
            "success",
        )
    return redirect(url_for("credits.trusted_issuers"))


@bp.route("/credits/import", methods=["GET", "POST"])
@login_required
def import_credential():
    form = ImportForm()
    registrar = access.is_registrar(current_user)
    imported = None
    status = None
    if form.validate_on_submit():
        resident = current_user
        phone = (form.phone.data or "").strip() if registrar else ""
        if phone:
            resident = access.find_account_holder(phone, current_user)
        if resident is None:
            form.phone.errors.append(_("没有找到这位居民，或不在您的辖区内"))
            status = 404
        else:
            data = request.files.get("document")
            raw = data.stream.read(verify.MAX_BYTES + 1) if data else b""
            if data:
                data.close()
            parsed = verify.parse_upload(raw)
            if isinstance(parsed, verify.Finding):
                form.document.errors.append(parsed.reason)
                status = 413 if len(raw) > verify.MAX_BYTES else 422
            else:
                with attempt(form) as result:
                    imported = operations.import_credential(current_user, resident, parsed, raw)
                if result.ok:
                    flash(_("已转入，等待学分银行专员认证"), "success")
                else:
                    imported, status = None, result.error.status
                    if not form.document.errors and not form.form_errors:
                        form.document.errors.append(result.error.message)
    return render_form(
        "credits/import.html", form, status=status, imported=imported, registrar=registrar
    )


@bp.get("/credits/imports/revoked")
@login_required
def flagged_imports():
    access.require_registrar(current_user)
    rows = operations.flagged_imports(current_user)
    entries = {row.id: standing_deposit(row.outcome) for row in rows}
    return render_template(
        "credits/flagged_imports.html",
        rows=rows,
        entries=entries,
        reverse_form=ReasonForm(prefix="reverse"),
    )


@bp.get("/credits/imports/<int:upload_id>.json")
@login_required
def import_evidence(upload_id: int):
    from lms.credits.models import CredentialUpload
    from lms.credits.views.credentials import credential_download

    upload = db.session.get(CredentialUpload, upload_id)
    if upload is None or not (
        upload.user_id == current_user.id or access.can_manage_account(current_user, upload.user)
    ):
        abort(404)
    return credential_download(upload, f"转入凭证-{upload.id}")

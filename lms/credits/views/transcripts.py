"""Transcripts (学分证明): issuing and downloading them; the public verify page (by serial and
code, or by uploading the signed JSON) and the keys it is checked against."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.core.forms import attempt, require_form_token
from lms.core.time import utcnow
from lms.credits import access, bp, operations, verification
from lms.credits.credentials import verify as checks
from lms.credits.documents import transcript_download
from lms.credits.forms import VerifyFileForm, VerifyForm
from lms.credits.signing import jwks


@bp.post("/me/transcripts")
@login_required
def issue_transcript():
    require_form_token()
    started = utcnow()
    with attempt() as result:
        transcript = operations.issue_transcript(current_user)
    if not result.ok:
        return redirect(url_for("credits.my_credits"))
    if transcript.issued_at >= started:
        flash(_("学分证明已开具，编号 %(serial)s", serial=transcript.serial), "success")
    else:
        flash(
            _("学分没有变化，仍是编号 %(serial)s 的学分证明", serial=transcript.serial),
            "success",
        )
    return redirect(url_for("credits.my_credits", _anchor="transcripts"))


@bp.get("/transcripts/<serial>.pdf")
def transcript_pdf(serial: str):
    return transcript_download(access.get_transcript_or_404(serial, current_user), "pdf")


@bp.get("/transcripts/<serial>.json")
def transcript_json(serial: str):
    return transcript_download(access.get_transcript_or_404(serial, current_user), "json")


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
    verdict = finding = None
    status = 200
    if upload.validate_on_submit():
        # Our own signed JSON, a 数字学分凭证 (Open Badges 3.0) or a 数字学习档案 (CLR 2.0).
        data = request.files.get("document")
        raw = data.stream.read(checks.MAX_BYTES + 1) if data else b""
        if data:
            data.close()  # a large upload is spooled to a temporary file
        parsed = checks.parse_upload(raw)
        finding = parsed if isinstance(parsed, checks.Finding) else checks.check_any(parsed)
        if len(raw) > checks.MAX_BYTES:
            status = 413
        elif not finding.known and finding.verdict is None:
            status = 422
        if finding.verdict is not None:
            verdict, finding = finding.verdict, None
            if not verdict.valid and verdict.transcript is None:
                status = 422
    return render_template(
        "credits/verify.html", form=form, upload=upload, verdict=verdict, finding=finding
    ), status


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
    return render_template(
        "credits/verify.html",
        form=VerifyForm(meta={"csrf": False}),
        upload=VerifyFileForm(),
        verdict=verification.verdict_for(transcript),
        code=request.args.get("code"),
    )


@bp.get("/.well-known/lms-transcript-keys.json")
def public_keys():
    response = jsonify(jwks())
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

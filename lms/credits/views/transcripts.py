"""Transcripts (学分证明): issuing and downloading them; the public verify page (by serial and
code, or by uploading the signed JSON) and the keys it is checked against."""

from __future__ import annotations

import json

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.core.forms import attempt, require_form_token
from lms.core.time import utcnow
from lms.credits import access, bp, operations, verification
from lms.credits.documents import transcript_download
from lms.credits.forms import VerifyFileForm, VerifyForm
from lms.credits.signing import jwks

MAX_UPLOAD = 2 * 1024 * 1024


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
    verdict = None
    if upload.validate_on_submit():
        data = request.files.get("document")
        raw = data.stream.read(MAX_UPLOAD + 1) if data else b""
        try:
            document = json.loads(raw) if raw and len(raw) <= MAX_UPLOAD else None
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

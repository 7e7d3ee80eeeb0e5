"""Standard credentials on the site: a resident downloads a certified outcome as a 数字学分凭证
(Open Badges 3.0) and a transcript as a 数字学习档案 (CLR 2.0); the site publishes its DID
document and its revocation status lists for any verifier. Checking an uploaded file is part
of the verify page (``views.transcripts``)."""

from __future__ import annotations

import json
import re

from flask import abort, flash, jsonify, redirect, url_for
from flask_login import current_user, login_required

from lms.core.errors import OperationError
from lms.core.files import attachment
from lms.credits import access, bp
from lms.credits.credentials import did, issue, status
from lms.credits.models import StandardCredential
from lms.extensions import db

MAX_LIST = 999_999


def credential_download(credential: StandardCredential, name: str):
    body = json.dumps(credential.document, ensure_ascii=False, indent=2).encode("utf-8")
    return attachment(body, f"{name}.json", "application/ld+json")


def file_title(text: str) -> str:
    """*text* made safe as part of a file name (no slashes or controls), at most 40 chars."""
    return re.sub(r"[\\/:*?\"<>|\x00-\x1f\x7f]+", "_", text).strip()[:40] or "credential"


@bp.get("/me/outcomes/<int:outcome_id>/badge.json")
@login_required
def outcome_badge(outcome_id: int):
    try:
        credential = issue.badge_for_outcome(current_user, outcome_id)
    except OperationError as error:
        db.session.rollback()
        if error.status == 404:
            abort(404)
        flash(error.message, "error")
        return redirect(url_for("credits.my_credits"))
    db.session.commit()
    title = credential.entry.outcome.title if credential.entry and credential.entry.outcome else ""
    return credential_download(credential, f"数字学分凭证-{file_title(title)}")


@bp.get("/transcripts/<serial>.record.json")
def transcript_record(serial: str):
    transcript = access.get_transcript_or_404(serial, current_user)
    try:
        credential = issue.record_for_transcript(transcript)
    except OperationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("credits.my_credits", _anchor="transcripts"))
    db.session.commit()
    return credential_download(credential, f"数字学习档案-{transcript.serial}")


def _public_json(document: dict, *, max_age: int):
    response = jsonify(document)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/did.json")
def did_document():
    """The site's did:web document (current and retired keys)."""
    return _public_json(did.did_document(), max_age=3600)


@bp.get("/did.json")
def did_document_under_path():
    """The same, where did:web looks when ``LMS_PUBLIC_URL`` has a path (did:web:host:path)."""
    return _public_json(did.did_document(), max_age=3600)


@bp.get("/credentials/status/<int:list_no>")
def status_list(list_no: int):
    """A revocation status list as a signed BitstringStatusListCredential; only the lists in
    use (list 1 before any credential), so nobody can have the site sign lists by the
    thousand."""
    if not 1 <= list_no <= min(MAX_LIST, status.highest_list()):
        abort(404)
    response = _public_json(status.status_list_credential(list_no), max_age=60)
    response.headers["Content-Type"] = "application/vc+ld+json"
    return response

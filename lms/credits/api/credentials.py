"""Standard credentials under /api/v1: a certified outcome as a 数字学分凭证 (Open Badges 3.0)
and a transcript as a 数字学习档案 (CLR 2.0). Checking any of them is ``POST /verify``
(``api.transcripts``)."""

from __future__ import annotations

from flask_login import current_user

from lms.core.api import endpoint
from lms.credits import access, api_bp
from lms.credits.credentials import issue
from lms.credits.views.credentials import credential_download, file_title
from lms.extensions import db


@endpoint(
    api_bp,
    "/me/outcomes/<int:outcome_id>/badge",
    "GET",
    summary="我的一项已认证成果的数字学分凭证（Open Badges 3.0，签名的 JSON-LD）",
    content="application/ld+json",
)
def outcome_badge_api(outcome_id: int):
    credential = issue.badge_for_outcome(current_user, outcome_id)
    db.session.commit()
    title = credential.entry.outcome.title if credential.entry and credential.entry.outcome else ""
    return credential_download(credential, f"数字学分凭证-{file_title(title)}")


@endpoint(
    api_bp,
    "/transcripts/<serial>/record",
    "GET",
    summary="学分证明的数字学习档案（CLR 2.0，带各项数字学分凭证；本人，或带核验码 ?code=）",
    auth=False,
    optional_auth=True,
    params={"code": "核验码（本人下载时不需要）"},
    content="application/ld+json",
)
def transcript_record_api(serial: str):
    transcript = access.get_transcript_or_404(serial, current_user)
    credential = issue.record_for_transcript(transcript)
    db.session.commit()
    return credential_download(credential, f"数字学习档案-{transcript.serial}")

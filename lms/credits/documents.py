"""The printable and downloadable forms of a transcript, made from its signed snapshot; and the
one way a download is answered (the learning file's exports use it too)."""

from __future__ import annotations

import json

from flask import make_response

from lms.core.files import content_disposition
from lms.credits import pdf
from lms.credits.models import Transcript


def transcript_pdf(transcript: Transcript) -> bytes:
    """The PDF of an issued transcript, drawn from its signed snapshot (never from live data,
    so it always says what was certified at the time of issue)."""
    return pdf.render_transcript_pdf(transcript.document["transcript"])


def attachment(body: bytes, name: str, mimetype: str, *, inline: bool = False):
    """A private, never-cached download named *name*."""
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = content_disposition(name, inline=inline)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def transcript_download(transcript: Transcript, fmt: str):
    """The transcript as a PDF (``fmt="pdf"``) or as its signed JSON document."""
    if fmt == "pdf":
        body, mimetype = transcript_pdf(transcript), "application/pdf"
    else:
        body = json.dumps(transcript.document, ensure_ascii=False, indent=2).encode()
        mimetype = "application/json"
    return attachment(body, f"学分证明-{transcript.serial}.{fmt}", mimetype)

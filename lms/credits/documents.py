"""The printable and downloadable forms of a transcript, made from its signed snapshot."""

from __future__ import annotations

import json

from lms.core.files import attachment
from lms.credits import pdf
from lms.credits.models import Transcript


def transcript_pdf(transcript: Transcript) -> bytes:
    """The PDF of an issued transcript, drawn from its signed snapshot (never from live data,
    so it always says what was certified at the time of issue)."""
    return pdf.render_transcript_pdf(transcript.document["transcript"])


def transcript_download(transcript: Transcript, fmt: str):
    """The transcript as a PDF (``fmt="pdf"``) or as its signed JSON document."""
    if fmt == "pdf":
        body, mimetype = transcript_pdf(transcript), "application/pdf"
    else:
        body = json.dumps(transcript.document, ensure_ascii=False, indent=2).encode()
        mimetype = "application/json"
    return attachment(body, f"学分证明-{transcript.serial}.{fmt}", mimetype)

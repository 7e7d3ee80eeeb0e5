"""Sending files of the media folder to a browser: by nginx (X-Accel-Redirect) in production,
by Flask with Range support in development. Callers authorise first; paths come from rows."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import abort, current_app, make_response, send_file

from lms.core import storage


def send_media_file(
    relative: str,
    mimetype: str,
    *,
    cache: bool,
    download_name: str | None = None,
    inline: bool = True,
):
    """Answer with the file at *relative* under the media folder (404 when it is missing)."""
    path = storage.media_path(relative)
    if not path.is_file():
        abort(404)
    prefix = current_app.config["LMS_ACCEL_REDIRECT_PREFIX"]
    if prefix:  # nginx sends the bytes; the headers are ours
        response = make_response("")
        response.headers["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{relative}"
        response.headers["Content-Type"] = mimetype
    else:
        response = send_file(path, mimetype=mimetype, conditional=True, max_age=None)
    if download_name:
        response.headers["Content-Disposition"] = content_disposition(download_name, inline=inline)
    response.headers["Cache-Control"] = "private, max-age=86400" if cache else "private, no-cache"
    return response


def attachment(body: bytes, name: str, mimetype: str, *, inline: bool = False):
    """A private, never-cached download named *name*."""
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = content_disposition(name, inline=inline)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266 with RFC 5987's filename* so Chinese names survive; an ASCII fallback first."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._\- ]", "_", fallback).strip() or "download"
    return (
        f'{"inline" if inline else "attachment"}; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )

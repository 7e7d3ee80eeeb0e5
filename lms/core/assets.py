"""Static files and page compression: what a phone on slow mobile data downloads, and how often.

- Every ``url_for('static', filename=…)`` carries the file's content hash (``?v=<12 hex>``), so a
  changed file has a new URL. The hash is in the query, so the same URLs work when nginx (or any
  server) sends ``static/`` straight from the disk: it ignores the query and sends the file.
- A request with the current hash is cached for a year (``immutable``); any other request for a
  static file (no hash, an old one) must revalidate (``no-cache``, with an ETag).
- Text (pages, CSS, JavaScript, JSON, SVG) is sent gzip-compressed to browsers that accept it:
  static files from a per-process cache of their compressed bytes, pages and API answers as
  they are made. A compressed page's gzip header carries a random-length name (as Django's
  GZipMiddleware does: "Heal the BREACH"), so that the compressed length of a page with a
  secret on it (a CSRF token) tells an eavesdropper nothing about guesses reflected beside it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import mimetypes
import os
import secrets
import string
import threading
from pathlib import Path

from flask import Flask, Response, abort, current_app, request, send_from_directory
from werkzeug.security import safe_join

YEAR_S = 365 * 24 * 3600
MIN_COMPRESS_BYTES = 1024  # below this gzip's own header outweighs what it saves
COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "text/csv",
        "text/vtt",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/ld+json",
        "application/xml",
        "application/vnd.apple.mpegurl",
        "application/x-mpegurl",
        "image/svg+xml",
    }
)
_PADDING = string.ascii_letters


class StaticFiles:
    """Content hashes and compressed bytes of the files in one static folder, computed once per
    file version (its modification time and size) per process."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._digests: dict[str, tuple[tuple[int, int], str]] = {}
        self._gzipped: dict[str, tuple[tuple[int, int], bytes]] = {}

    def path(self, filename: str) -> Path | None:
        joined = safe_join(str(self.folder), filename)
        if joined is None or not os.path.isfile(joined):
            return None
        return Path(joined)

    @staticmethod
    def _version(path: Path) -> tuple[int, int]:
        stat = path.stat()
        return stat.st_mtime_ns, stat.st_size

    def digest(self, filename: str) -> str | None:
        """The first 12 hex digits of the file's SHA-256, or None when there is no such file."""
        path = self.path(filename)
        if path is None:
            return None
        version = self._version(path)
        known = self._digests.get(filename)
        if known and known[0] == version:
            return known[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        with self._lock:
            self._digests[filename] = (version, digest)
        return digest

    def gzipped(self, filename: str, path: Path) -> bytes:
        version = self._version(path)
        known = self._gzipped.get(filename)
        if known and known[0] == version:
            return known[1]
        body = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
        with self._lock:
            self._gzipped[filename] = (version, body)
        return body


def init_app(app: Flask) -> None:
    files = StaticFiles(app.static_folder)
    app.extensions["lms_static"] = files

    @app.url_defaults
    def _hash_static_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            digest = files.digest(values["filename"])
            if digest:
                values["v"] = digest

    app.view_functions["static"] = serve_static
    app.after_request(compress_response)


def accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def serve_static(filename: str) -> Response:
    """A static file: a year's cache under its current hash, compressed when that helps."""
    files: StaticFiles = current_app.extensions["lms_static"]
    path = files.path(filename)
    if path is None:
        abort(404)
    digest = files.digest(filename)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    compressible = mimetype in COMPRESSIBLE and path.stat().st_size >= MIN_COMPRESS_BYTES
    if compressible:  # small text files: from memory, compressed when the browser takes it
        if accepts_gzip():
            response = Response(files.gzipped(filename, path), mimetype=mimetype)
            response.headers["Content-Encoding"] = "gzip"
            response.set_etag(f"{digest}-gzip")
        else:
            response = Response(path.read_bytes(), mimetype=mimetype)
            response.set_etag(digest)
        response.last_modified = path.stat().st_mtime
        response.make_conditional(request)
    else:
        response = send_from_directory(files.folder, filename, max_age=None)
        response.set_etag(digest)
        response.make_conditional(request)
    if compressible:
        response.vary.add("Accept-Encoding")
    if request.args.get("v") == digest:
        response.cache_control.public = True
        response.cache_control.max_age = YEAR_S
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
    else:
        response.cache_control.no_cache = True
        response.cache_control.max_age = None
    return response


def compress_response(response: Response) -> Response:
    """gzip a page or API answer for a browser that accepts it (static files and media are
    handled by their own views: they pass through)."""
    if (
        response.direct_passthrough
        or response.is_streamed
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSIBLE
        or request.method == "HEAD"
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    data = response.get_data()
    if len(data) < MIN_COMPRESS_BYTES:
        return response
    response.set_data(compress_page(data))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)  # the same content, other bytes
    return response


def compress_page(data: bytes) -> bytes:
    """gzip *data* with a random name of 0–100 letters in the header (see the module's doc)."""
    name = "".join(secrets.choice(_PADDING) for _ in range(secrets.randbelow(101)))
    out = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=out, compresslevel=6, mtime=0) as zipped:
        zipped.write(data)
    return out.getvalue()

"""Evidence for offline outcomes: a photo of a certificate or a PDF, checked by its content.

Files are streamed to a temporary name under media/evidence/, checked, and renamed into place
(law 5). Photos are re-encoded as JPEG, which drops their EXIF data (phones put the place a
photo was taken there) and anything hidden after the image.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from lms.core import storage
from lms.core.errors import field_error
from lms.courses.content import human_size
from lms.extensions import db

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_IMAGE_SIDE = 2400
CHUNK = 256 * 1024


@dataclass(frozen=True)
class StoredEvidence:
    path: str
    filename: str
    content_type: str
    size: int
    sha256: str


def _display_name(filename: str | None, suffix: str) -> str:
    stem = Path(filename or "").stem.strip()[:80] or _("证明材料")
    return f"{stem}{suffix}"


def store_evidence(stream, filename: str | None, *, field: str = "evidence") -> StoredEvidence:
    """Check one uploaded file and store it. Anything that is not a real image or PDF, is empty
    or is too large is refused with a message in Chinese and leaves no file behind."""
    limit = current_app.config["LMS_EVIDENCE_MAX_BYTES"]
    folder = storage.media_path("evidence")
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / f".{secrets.token_hex(8)}.part"
    try:
        size = 0
        with open(draft, "wb") as handle:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise field_error(
                        field, _("证明材料不能超过 %(size)s", size=human_size(limit)), status=413
                    )
                handle.write(chunk)
        if size == 0:
            raise field_error(field, _("证明材料是空文件"))
        with open(draft, "rb") as handle:
            head = handle.read(8)
        if head.startswith(b"%PDF-"):
            _check_pdf(draft, field)
            suffix, content_type = ".pdf", "application/pdf"
        else:
            _reencode_image(draft, field)
            suffix, content_type = ".jpg", "image/jpeg"
        digest = hashlib.sha256()
        with open(draft, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        relative = f"evidence/{secrets.token_hex(12)}{suffix}"
        final = storage.media_path(relative)
        os.replace(draft, final)
        storage.discard_on_rollback(db.session, relative)
        return StoredEvidence(
            path=relative,
            filename=_display_name(filename, suffix),
            content_type=content_type,
            size=final.stat().st_size,
            sha256=digest.hexdigest(),
        )
    finally:
        draft.unlink(missing_ok=True)


def _check_pdf(path: Path, field: str) -> None:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted or len(reader.pages) == 0:
            raise PdfReadError("encrypted or empty")
    except (PdfReadError, OSError, ValueError, KeyError, TypeError):
        raise field_error(
            field, _("PDF 文件已损坏、加密或没有页面，请换一个文件"), status=415
        ) from None


def _reencode_image(path: Path, field: str) -> None:
    try:
        with Image.open(path) as probe:
            if probe.format not in IMAGE_FORMATS:
                raise UnidentifiedImageError
            if probe.width * probe.height > 60_000_000:
                raise field_error(field, _("图片尺寸过大"), status=413)
            probe.verify()
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
            image.save(path, "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise field_error(
            field, _("证明材料只能是照片（JPG、PNG、WEBP）或 PDF 文件"), status=415
        ) from None

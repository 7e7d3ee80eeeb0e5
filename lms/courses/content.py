"""Checking what teachers put into courses: rich text is sanitised, covers are real images."""

from __future__ import annotations

import io
import re
import secrets
from html import escape, unescape

import nh3
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from lms.core import storage
from lms.core.errors import field_error

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "span",
}
# "http:…", "//host/…" or "\\host\…": an address elsewhere, not a path on this site.
REMOTE_ADDRESS = re.compile(r"\s*(?:[a-z][a-z0-9+.-]*:|[/\\]{2})", re.IGNORECASE)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}


def sanitise_html(html: str | None) -> str:
    """Keep the formatting a lesson needs; drop scripts, handlers, styles and foreign schemes.
    Text typed without any tags (most teachers type on a phone) becomes paragraphs."""
    html = (html or "").replace("\r\n", "\n")
    if not re.search(r"<[a-zA-Z/!]", html):
        paragraphs = [part.strip() for part in re.split(r"\n\s*\n", html) if part.strip()]
        html = "".join(f"<p>{escape(part)}</p>".replace("\n", "<br>") for part in paragraphs)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_own_images_only,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _own_images_only(tag: str, attribute: str, value: str) -> str | None:
    """An image is shown only from the site itself: a remote one would tell another server who
    read the lesson (and the CSP would block it anyway), so an address with a scheme or a host
    is dropped (an image pasted inline as ``data:image/…`` stays)."""
    inline = value.strip().lower().startswith("data:image/")
    if tag == "img" and attribute == "src" and REMOTE_ADDRESS.match(value) and not inline:
        return None
    return value


def editable_text(html: str | None) -> str:
    """What a teacher edits: paragraphs and line breaks back as plain text when that is all the
    HTML holds (``sanitise_html`` turns them into paragraphs again), else the HTML itself."""
    html = html or ""
    if re.search(r"<(?!/?(?:p|br)\s*/?>)[a-zA-Z/]", html):
        return html
    text = re.sub(r"<br\s*/?>", "\n", html)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return unescape(re.sub(r"</?p>", "", text)).strip()


def human_size(size: int) -> str:
    """1536 → "1.5 KB"; 5242880 → "5 MB"."""
    if size < 1024:
        return f"{size} B"
    number, unit = (size / 1024, "KB") if size < 1024**2 else (size / 1024**2, "MB")
    return f"{number:.1f}".removesuffix(".0") + f" {unit}"


# Smaller copies written beside every cover (``<name>-320.jpg`` …), so that a card on a phone
# is sent the size it shows (the pages list them in srcset).
COVER_WIDTHS = (320, 640)


def cover_variant(relative: str, width: int) -> str:
    """The path of *relative*'s copy *width* pixels wide."""
    return f"{relative.removesuffix('.jpg')}-{width}.jpg"


def cover_files(relative: str) -> list[str]:
    """Every file of a cover: the full size and its smaller copies."""
    return [relative, *(cover_variant(relative, width) for width in COVER_WIDTHS)]


def save_cover(stream, *, field: str = "cover") -> str:
    """Check that *stream* is a real image within the size limit, fit it to the cover size,
    write it as JPEG under media/covers/ with its smaller copies (COVER_WIDTHS), and return the
    full size's relative path."""
    limit = current_app.config["LMS_COVER_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise field_error(field, _("封面文件是空的"))
    if len(data) > limit:
        raise field_error(field, _("封面图片不能超过 %(size)s", size=human_size(limit)), status=413)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"JPEG", "PNG", "WEBP", "GIF"}:
                raise field_error(field, _("封面只支持 JPG、PNG、WEBP 或 GIF 图片"), status=415)
            if probe.width * probe.height > 40_000_000:
                raise field_error(field, _("封面图片尺寸过大"), status=413)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            cover = ImageOps.fit(
                image, current_app.config["LMS_COVER_SIZE"], Image.Resampling.LANCZOS
            )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise field_error(field, _("封面不是有效的图片文件"), status=415) from None
    relative = f"covers/{secrets.token_hex(12)}.jpg"
    _write_jpeg(cover, relative, quality=85)
    for width in COVER_WIDTHS:
        if width < cover.width:
            height = round(cover.height * width / cover.width)
            small = cover.resize((width, height), Image.Resampling.LANCZOS)
            _write_jpeg(small, cover_variant(relative, width), quality=80)
    return relative


def _write_jpeg(image, relative: str, *, quality: int) -> None:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    storage.write_atomically(storage.media_path(relative), out.getvalue())


PICTURE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def save_picture(stream, *, field: str = "picture") -> tuple[str, int, int]:
    """A picture for a lesson's text, checked like a cover (a real JPG, PNG, WEBP or GIF within
    the size limit; an SVG, which can carry script, is refused), shrunk to fit the page (at most
    LMS_PICTURE_SIZE), written as JPEG under media/pictures/. Its relative path and size."""
    limit = current_app.config["LMS_COVER_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise field_error(field, _("图片文件是空的"))
    if len(data) > limit:
        raise field_error(field, _("图片不能超过 %(size)s", size=human_size(limit)), status=413)
    if _looks_like_markup(data):
        raise field_error(
            field, _("不支持 SVG 等矢量图，请上传 JPG、PNG、WEBP 或 GIF 图片"), status=415
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in PICTURE_FORMATS:
                raise field_error(field, _("图片只支持 JPG、PNG、WEBP 或 GIF 格式"), status=415)
            if probe.width * probe.height > 40_000_000:
                raise field_error(field, _("图片尺寸过大"), status=413)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                flat = Image.new("RGB", image.size, "white")  # transparent parts on white
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            else:
                image = image.convert("RGB")
            image.thumbnail(current_app.config["LMS_PICTURE_SIZE"], Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise field_error(field, _("这不是有效的图片文件"), status=415) from None
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    relative = f"pictures/{secrets.token_hex(12)}.jpg"
    storage.write_atomically(storage.media_path(relative), out.getvalue())
    return relative, image.width, image.height


def _looks_like_markup(data: bytes) -> bool:
    """SVG (or any XML or HTML) rather than a raster image: text that opens with a tag."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") or b"<svg" in head

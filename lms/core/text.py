"""Text as the features store it: plain text of a field, and the title rule every feature shares."""

from __future__ import annotations

from html import unescape

import nh3
from flask_babel import gettext as _

from lms.core.errors import field_error

MAX_TITLE = 200


def plain_text(value: str | None) -> str:
    """Text with every tag removed, entities decoded: what a title is stored as (the templates
    escape it when they show it)."""
    return unescape(nh3.clean(value or "", tags=set())).strip()


def clean_title(value: str | None, field: str = "title") -> str:
    """A title as stored: plain text on one line; refused when empty or over 200 characters."""
    title = " ".join(plain_text(value).split())
    if not title:
        raise field_error(field, _("请填写标题"))
    if len(title) > MAX_TITLE:
        raise field_error(field, _("标题不能超过 200 个字"))
    return title

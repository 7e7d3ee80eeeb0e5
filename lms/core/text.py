"""Text as the features store it: plain text of a field, and the title rule every feature shares."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import nh3
from flask_babel import gettext as _

from lms.core.errors import field_error

MAX_TITLE = 200


# Characters no resident types and no page should store: C0/C1 controls (tab and line breaks
# aside), lone surrogates (not text at all), and the bidirectional overrides and isolates that
# make text read differently from how it is stored.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def control_character_paths(data: Any, path: str = "") -> list[str]:
    """Where in parsed JSON (or a form's values) a string holds a control character: the dotted
    paths of those strings, keys included."""
    found: list[str] = []
    if isinstance(data, str):
        if has_control_characters(data):
            found.append(path or "body")
    elif isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and has_control_characters(key):
                found.append(where)
            found.extend(control_character_paths(value, where))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(control_character_paths(value, f"{path}.{index}" if path else str(index)))
    return found


def typed_text(value: str | None) -> str:
    """Text as the user typed it, with tags removed: an entity the user typed (``&lt;``) stays
    as typed, and nothing becomes markup that was not typed as markup."""
    return unescape(nh3.clean((value or "").replace("&", "&amp;"), tags=set())).strip()


def plain_text(value: str | None) -> str:
    """The text of a piece of HTML (a lesson body): tags removed, entities decoded."""
    return unescape(nh3.clean(value or "", tags=set())).strip()


def clean_title(value: str | None, field: str = "title") -> str:
    """A title as stored: plain text on one line; refused when empty or over 200 characters."""
    title = " ".join(typed_text(value).split())
    if not title:
        raise field_error(field, _("请填写标题"))
    if len(title) > MAX_TITLE:
        raise field_error(field, _("标题不能超过 200 个字"))
    return title

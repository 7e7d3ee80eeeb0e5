"""Chinese first, English beside it: every marked string has an English translation, and pages
shown in English carry no Chinese of their own (only data such as names)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _extracted() -> set[str]:
    found = set()
    for folder, method in ((ROOT / "lms", "python"), (ROOT / "templates", "jinja2")):
        method_map = [("**.py", "python")] if method == "python" else [("**.html", "jinja2")]
        for _filename, _line, message, _comments, _context in extract_from_dir(
            folder, method_map=method_map, keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_an_english_translation():
    with open(ROOT / "lms/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalogue if m.id}
    missing = sorted(m for m in _extracted() if not translated.get(m))
    assert missing == [], f"{len(missing)} strings without English: {missing[:20]}"


def test_default_locale_is_simplified_chinese(client, county):
    html = client.get("/sign-in").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "登录" in html


def test_english_pages_have_no_chinese_of_their_own(client, resident, create_course):
    create_course()
    client.get("/lang/en")
    for path in ("/sign-in", "/no-such-page"):
        html = client.get(path).get_data(as_text=True)
        assert 'lang="en"' in html
        text = _visible_text(html)
        assert not CJK.findall(text), (path, sorted(set(CJK.findall(text))))
    sign_in(client, resident)
    html = client.get("/account").get_data(as_text=True)
    text = re.sub(r"泸县|福集镇|一村", "", _visible_text(html).replace(resident.name, ""))
    assert not CJK.findall(text), sorted(set(CJK.findall(text)))


def _visible_text(html: str) -> str:
    """The page's text without tags; the switch's own 中文 label names a language, as it should."""
    return re.sub(r"<[^>]+>", " ", html).replace("中文", "")


def test_language_switch_refuses_unknown_locales(client, county):
    assert client.get("/lang/fr").status_code == 404

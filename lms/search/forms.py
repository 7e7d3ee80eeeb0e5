"""Forms of search: the administrators' dictionary words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import TextAreaField

from lms.core.forms import Form


class DictionaryForm(Form):
    words = TextAreaField(
        _l("词表（每行一个词，可在词后空一格写词频）"),
        render_kw={"rows": 16, "spellcheck": "false"},
    )
    upload = FileField(
        _l("或上传词表文件（UTF-8 文本，.txt，1 MB 以内）"), render_kw={"accept": ".txt,text/plain"}
    )

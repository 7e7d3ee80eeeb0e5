"""Web forms of media."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.core.forms import Form


class VideoLessonForm(Form):
    title = StringField(
        _l("课时标题"), validators=[DataRequired(_l("请填写课时标题")), Length(max=200)]
    )
    required = BooleanField(_l("必修"), default=True)
    file = FileField(_l("视频文件"), render_kw={"accept": "video/*"})
    # Filled in by the resumable uploader (static/js/upload.js); the plain file field is the
    # fallback for browsers without JavaScript.
    media_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    captions = FileField(
        _l("字幕（选填，WebVTT .vtt 文件）"), render_kw={"accept": ".vtt,text/vtt"}
    )


class DocumentForm(Form):
    """A course document, or (with a title and as_lesson) a document lesson."""

    file = FileField(
        _l("文件（PDF、Word、PowerPoint、Excel，50 MB 以内）"),
        render_kw={"accept": ".pdf,.docx,.pptx,.xlsx"},
    )
    as_lesson = BooleanField(_l("作为一节文档课时（居民打开学习后可标记学完）"))
    title = StringField(_l("课时标题（作为课时时填写）"), validators=[Length(max=200)])
    required = BooleanField(_l("必修"), default=True)

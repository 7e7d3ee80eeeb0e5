"""Web forms of courses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from lms.core.forms import Form


class CourseForm(Form):
    title = StringField(
        _l("课程名称"), validators=[DataRequired(_l("请填写课程名称")), Length(max=200)]
    )
    category_id = SelectField(_l("分类"), coerce=int, validators=[InputRequired(_l("请选择分类"))])
    hours = DecimalField(
        _l("学时"),
        places=1,
        validators=[InputRequired(_l("请填写学时"))],
        render_kw={"inputmode": "decimal", "step": "0.5"},
    )
    summary = TextAreaField(_l("课程简介"), validators=[Length(max=20000)], render_kw={"rows": 6})
    is_open = BooleanField(_l("公开课（无需登录即可学习）"))
    cover = FileField(_l("封面图片（JPG / PNG，5 MB 以内）"), render_kw={"accept": "image/*"})


class TextLessonForm(Form):
    title = StringField(
        _l("课时标题"), validators=[DataRequired(_l("请填写课时标题")), Length(max=200)]
    )
    body = TextAreaField(
        _l("课时内容"), validators=[DataRequired(_l("请填写课时内容"))], render_kw={"rows": 12}
    )
    required = BooleanField(_l("必修"), default=True)


class CategoryForm(Form):
    name = StringField(
        _l("分类名称"), validators=[DataRequired(_l("请填写分类名称")), Length(max=40)]
    )
    active = BooleanField(_l("启用"), default=True)

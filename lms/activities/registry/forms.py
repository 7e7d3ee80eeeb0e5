"""Web forms of the lecturer and volunteer registry."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.core.forms import Form
from lms.core.models import MAX_ID


class LecturerForm(Form):
    unit = SelectField(_l("所属单位"), coerce=int, validators=[InputRequired(_l("请选择单位"))])
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=40)])
    subjects = StringField(
        _l("擅长课程或领域（如：智能手机、中医养生、果树栽培）"),
        validators=[DataRequired(_l("请填写擅长的课程或领域")), Length(max=200)],
    )
    qualification = StringField(_l("职称或资质（选填）"), validators=[Optional(), Length(max=200)])
    phone = StringField(
        _l("联系电话（选填）"),
        validators=[Optional(), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    bio = TextAreaField(
        _l("简介（选填）"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3}
    )
    talent_pool = BooleanField(_l("列入后备人才库"))
    active = BooleanField(_l("在册（取消后不再能被安排授课）"), default=True)


class VolunteerForm(Form):
    unit = SelectField(_l("所属单位"), coerce=int, validators=[InputRequired(_l("请选择单位"))])
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=40)])
    phone = StringField(
        _l("手机号"),
        validators=[DataRequired(_l("请填写手机号")), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    skills = StringField(
        _l("特长或能提供的服务"),
        validators=[DataRequired(_l("请填写特长或能提供的服务")), Length(max=200)],
    )
    availability = StringField(
        _l("方便服务的时间（选填）"), validators=[Optional(), Length(max=200)]
    )
    talent_pool = BooleanField(_l("列入后备人才库"))


class VolunteerEditForm(Form):
    skills = StringField(
        _l("特长或能提供的服务"),
        validators=[DataRequired(_l("请填写特长或能提供的服务")), Length(max=200)],
    )
    availability = StringField(
        _l("方便服务的时间（选填）"), validators=[Optional(), Length(max=200)]
    )
    talent_pool = BooleanField(_l("列入后备人才库"))


class ApplicationForm(Form):
    skills = StringField(
        _l("您的特长或能提供的服务（如：教广场舞、会用电脑、维持秩序）"),
        validators=[DataRequired(_l("请填写您的特长或能提供的服务")), Length(max=200)],
    )
    availability = StringField(
        _l("方便服务的时间（如：周末上午、每周三晚上）"),
        validators=[DataRequired(_l("请填写您方便服务的时间")), Length(max=200)],
    )
    note = TextAreaField(
        _l("想对管理员说的话（选填）"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 3},
    )


class DecisionForm(Form):
    reason = TextAreaField(
        _l("不通过的原因（通过时可不填）"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 2},
    )


def _id(value) -> int | None:
    """A chosen id; anything else is no choice (the field then asks for one)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class AssignLecturerForm(Form):
    lecturer_id = SelectField(
        _l("讲师"),
        coerce=_id,
        validate_choice=False,
        validators=[InputRequired(_l("请选择讲师"))],
    )
    topic = StringField(_l("讲授内容（选填）"), validators=[Optional(), Length(max=200)])
    hours = DecimalField(
        _l("服务时长（小时，留空按活动学时）"),
        places=1,
        validators=[
            Optional(),
            NumberRange(min=0.1, max=24, message=_l("时长应在 0.1 到 24 之间")),
        ],
        render_kw={"inputmode": "decimal", "step": "0.5", "min": "0.5", "max": "24"},
    )


class AssignVolunteerForm(Form):
    volunteer_id = SelectField(
        _l("志愿者"),
        coerce=_id,
        validate_choice=False,
        validators=[InputRequired(_l("请选择志愿者"))],
    )
    duty = StringField(_l("服务内容（如：签到引导）"), validators=[Optional(), Length(max=100)])
    hours = DecimalField(
        _l("服务时长（小时，留空按活动学时）"),
        places=1,
        validators=[
            Optional(),
            NumberRange(min=0.1, max=24, message=_l("时长应在 0.1 到 24 之间")),
        ],
        render_kw={"inputmode": "decimal", "step": "0.5", "min": "0.5", "max": "24"},
    )

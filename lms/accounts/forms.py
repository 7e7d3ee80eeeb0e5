"""Web forms of accounts. Field rules live in operations and validation; the forms only carry."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from lms.accounts.models import Role
from lms.core.forms import Form
from lms.core.models import MAX_ID


class SignUpForm(Form):
    phone = StringField(
        _l("手机号"),
        validators=[DataRequired(_l("请填写手机号")), Length(max=40)],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    name = StringField(
        _l("姓名"),
        validators=[DataRequired(_l("请填写姓名")), Length(max=40)],
        render_kw={"autocomplete": "name"},
    )
    org_unit_id = SelectField(
        _l("所在村（社区）"),
        coerce=int,
        validators=[InputRequired(_l("请选择所在村（社区）"))],
        validate_choice=True,
    )
    birth_year = IntegerField(
        _l("出生年份（选填）"), validators=[Optional()], render_kw={"inputmode": "numeric"}
    )
    password = PasswordField(
        _l("密码"),
        validators=[DataRequired(_l("请设置密码")), Length(max=128)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("再次输入密码"),
        validators=[EqualTo("password", _l("两次输入的密码不一致"))],
        render_kw={"autocomplete": "new-password"},
    )


class SignInForm(Form):
    phone = StringField(
        _l("手机号"),
        validators=[DataRequired(_l("请填写手机号")), Length(max=40)],
        render_kw={"inputmode": "tel", "autocomplete": "username"},
    )
    password = PasswordField(
        _l("密码"),
        validators=[DataRequired(_l("请填写密码")), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("记住我"), default=True)


class ChangePasswordForm(Form):
    current = PasswordField(
        _l("当前密码"),
        validators=[DataRequired(_l("请填写当前密码"))],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请填写新密码")), Length(max=128)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[EqualTo("new", _l("两次输入的密码不一致"))],
        render_kw={"autocomplete": "new-password"},
    )


class GrantRoleForm(Form):
    role = SelectField(_l("角色"), validators=[DataRequired()])
    org_unit_id = SelectField(_l("管理范围"), coerce=int, validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(role.value, role.label) for role in Role]


class OrgUnitForm(Form):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), Length(max=100)])
    population = IntegerField(
        _l("常住人口"),
        validators=[
            InputRequired(_l("请填写人口数")),
            NumberRange(min=0, max=10_000_000, message=_l("人口数不合理")),
        ],
    )


def _gender_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("未填写")),
        SelectChoice("男", _l("男")),
        SelectChoice("女", _l("女")),
    ]


class PersonForm(Form):
    """Staff correcting a person's details (and, with a phone, registering a resident)."""

    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=40)])
    # The operations decide (in Chinese, with a 403 outside the actor's scope), not WTForms.
    org_unit_id = SelectField(
        _l("所在村（社区）"),
        coerce=int,
        validators=[
            InputRequired(_l("请选择所在村（社区）")),
            NumberRange(1, MAX_ID, _l("请选择具体的村（社区）")),
        ],
        validate_choice=False,
    )
    birth_year = IntegerField(
        _l("出生年份（选填）"), validators=[Optional()], render_kw={"inputmode": "numeric"}
    )
    gender = SelectField(_l("性别（选填）"), validators=[Optional()], validate_choice=False)
    id_number = StringField(
        _l("身份证号（选填）"),
        validators=[Optional(), Length(max=30)],
        render_kw={"autocomplete": "off"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gender.choices = _gender_choices()


class RegisterPersonForm(PersonForm):
    phone = StringField(
        _l("手机号"),
        validators=[DataRequired(_l("请填写手机号")), Length(max=40)],
        render_kw={"inputmode": "tel"},
    )

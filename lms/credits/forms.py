"""Web forms of the credit bank."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from lms.core.forms import Form
from lms.credits.credentials.foreign import ACHIEVEMENT_TYPES
from lms.credits.models import OutcomeKind, RuleMode


def offline_kind_choices() -> list[tuple[str, str]]:
    return [SelectChoice(kind.value, kind.label) for kind in OutcomeKind.offline()]


class OutcomeForm(Form):
    kind = SelectField(_l("成果类别"), validators=[InputRequired(_l("请选择成果类别"))])
    title = StringField(
        _l("名称（如：电商直播培训、献血志愿服务）"),
        validators=[DataRequired(_l("请填写名称")), Length(max=200)],
    )
    hours = DecimalField(
        _l("学时（小时）"),
        places=1,
        validators=[InputRequired(_l("请填写学时"))],
        render_kw={"inputmode": "decimal", "step": "0.5", "min": "0.5", "max": "24"},
    )
    occurred_on = DateField(_l("日期"), validators=[InputRequired(_l("请填写日期"))])
    issuer = StringField(
        _l("发证或组织单位"), validators=[DataRequired(_l("请填写发证或组织单位")), Length(max=100)]
    )
    description = TextAreaField(
        _l("补充说明（选填）"), validators=[Length(max=2000)], render_kw={"rows": 3}
    )
    evidence = MultipleFileField(
        _l("证明材料（照片或 PDF，最多 5 个，每个 10 MB 以内）"),
        render_kw={"accept": "image/jpeg,image/png,image/webp,application/pdf"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = offline_kind_choices()


class ReasonForm(Form):
    reason = TextAreaField(
        _l("原因"),
        validators=[DataRequired(_l("请写明原因")), Length(max=500)],
        render_kw={"rows": 2},
    )


def category_choices(categories) -> list[SelectChoice]:
    return [SelectChoice(0, _l("全部分类"))] + [SelectChoice(c.id, c.name) for c in categories]


def rule_kind_choices() -> list[tuple[str, str]]:
    return [SelectChoice(kind.value, kind.label) for kind in OutcomeKind]


class RuleForm(Form):
    kind = SelectField(_l("成果类别"))
    category_id = SelectField(_l("课程分类（只对线上课程有意义）"), coerce=int)
    mode = SelectField(
        _l("折算方式"), choices=[SelectChoice(mode.value, mode.label) for mode in RuleMode]
    )
    hours_per_credit = DecimalField(
        _l("多少学时折算 1 学分"),
        places=1,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    fixed_credits = DecimalField(
        _l("每项成果的固定学分"),
        places=1,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    credit_ratio = DecimalField(
        _l("原单位 1 学分折算为本县多少学分"),
        places=1,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    issuer_id = SelectField(_l("签发单位（只对外部转入有意义）"), coerce=int, default=0)
    achievement_type = SelectField(_l("成果类型（只对外部转入有意义）"), default="")
    yearly_cap = DecimalField(
        _l("每年上限（学分，选填）"),
        places=1,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    valid_from = DateField(_l("生效日期（选填）"), validators=[Optional()])
    valid_until = DateField(_l("截止日期（选填）"), validators=[Optional()])
    note = StringField(_l("说明（选填）"), validators=[Length(max=200)])

    def __init__(self, *args, categories=(), issuers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = rule_kind_choices()
        self.category_id.choices = category_choices(categories)
        self.issuer_id.choices = [SelectChoice(0, _l("所有可信单位"))] + [
            SelectChoice(issuer.id, issuer.name) for issuer in issuers
        ]
        self.achievement_type.choices = [SelectChoice("", _l("所有类型"))] + [
            SelectChoice(value, label) for value, label in ACHIEVEMENT_TYPES.items()
        ]


class PreviewForm(Form):
    class Meta:
        csrf = False

    kind = SelectField(_l("成果类别"))
    category_id = SelectField(_l("课程分类"), coerce=int, validators=[Optional()])
    hours = DecimalField(_l("学时"), places=1, validators=[InputRequired(_l("请填写学时"))])
    occurred_on = DateField(_l("日期"), validators=[Optional()])

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = rule_kind_choices()
        self.category_id.choices = category_choices(categories)


class VerifyForm(Form):
    class Meta:
        csrf = False

    serial = StringField(
        _l("证明编号"), validators=[DataRequired(_l("请填写证明编号")), Length(max=40)]
    )
    code = StringField(_l("核验码"), validators=[DataRequired(_l("请填写核验码")), Length(max=40)])


class VerifyFileForm(Form):
    document = FileField(
        _l("凭证文件（学分证明、数字学分凭证或数字学习档案）"),
        render_kw={"accept": "application/json,application/ld+json,.json,.jsonld"},
    )


class CourseHoursForm(Form):
    """A registrar's certification of a course's 学时. The hours are checked exactly by the
    operation (a number with at most one decimal), so the field keeps what was typed."""

    hours = StringField(
        _l("认定学时"),
        validators=[DataRequired(_l("请填写认定的学时")), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = TextAreaField(
        _l("理由（认定学时明显多于实测内容时必填）"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 2},
    )


class TrustedIssuerForm(Form):
    """A county registrar adds an institution to the trust list (学分互认)."""

    name = StringField(
        _l("单位名称"), validators=[DataRequired(_l("请填写单位名称")), Length(max=200)]
    )
    did = StringField(
        _l("单位的 DID（did:web:… 或 did:key:…）"),
        validators=[DataRequired(_l("请填写对方的 DID")), Length(max=200)],
    )
    trusted_from = DateField(
        _l("从哪一天签发的凭证起互认"), validators=[InputRequired(_l("请填写日期"))]
    )
    achievement_types = SelectMultipleField(_l("互认的成果类型"))
    origin = StringField(_l("对方网站地址（did:web 不必填）"), validators=[Length(max=200)])
    public_key = StringField(
        _l("公钥（选填，z6Mk 开头；不联网时填写）"), validators=[Length(max=200)]
    )
    did_document = TextAreaField(
        _l("DID 文档（选填；不联网时粘贴）"), validators=[Length(max=100_000)]
    )
    note = StringField(_l("说明（选填）"), validators=[Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.achievement_types.choices = [
            SelectChoice(value, label) for value, label in ACHIEVEMENT_TYPES.items()
        ]


class ImportForm(Form):
    document = FileField(
        _l("凭证文件（外单位的数字学分凭证或数字学习档案，JSON）"),
        render_kw={"accept": "application/json,application/ld+json,.json,.jsonld"},
    )
    phone = StringField(
        _l("居民手机号（专员代居民转入时填写）"),
        validators=[Optional(), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )

"""Web forms of activities."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.accounts.models import OrgUnit
from lms.activities.models import ActivityKind
from lms.core.forms import Form
from lms.core.time import display_zone


class ActivityForm(Form):
    kind = SelectField(_l("活动类别"), validators=[InputRequired(_l("请选择活动类别"))])
    title = StringField(
        _l("活动名称"), validators=[DataRequired(_l("请填写活动名称")), Length(max=200)]
    )
    unit = SelectField(_l("主办单位"), coerce=int, validators=[InputRequired(_l("请选择主办单位"))])
    place = StringField(
        _l("活动地点（写清楚村、街道、门牌或场所）"),
        validators=[DataRequired(_l("请填写活动地点")), Length(max=200)],
    )
    starts_at = DateTimeLocalField(
        _l("开始时间"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(_l("请填写开始时间"))],
    )
    ends_at = DateTimeLocalField(
        _l("结束时间"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(_l("请填写结束时间"))],
    )
    hours = DecimalField(
        _l("记录学时"),
        places=1,
        validators=[InputRequired(_l("请填写学时"))],
        render_kw={"inputmode": "decimal", "step": "0.5", "min": "0.5"},
    )
    capacity = IntegerField(
        _l("人数上限（不限可不填）"),
        validators=[
            Optional(),
            NumberRange(min=1, max=100_000, message=_l("人数上限须在 1 到 100000 之间")),
        ],
        render_kw={"inputmode": "numeric", "min": "1"},
    )
    needs_registration = BooleanField(_l("需要提前报名"))
    audience = SelectField(_l("参加范围"), coerce=int, default=0)
    needs_check_out = BooleanField(_l("需要签退"))
    min_stay_minutes = IntegerField(
        _l("最短停留（分钟，签退时核对，选填）"),
        validators=[
            Optional(),
            NumberRange(min=1, max=1440, message=_l("最短停留时间须在 1 到 1440 分钟之间")),
        ],
        render_kw={"inputmode": "numeric", "min": "1"},
    )
    description = TextAreaField(
        _l("活动介绍（选填）"), validators=[Length(max=5000)], render_kw={"rows": 4}
    )

    def __init__(self, units: list[OrgUnit], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(kind.value, kind.label) for kind in ActivityKind]
        self.unit.choices = [(unit.id, unit.full_name) for unit in units]
        self.audience.choices = [(0, _l("所有居民")), *((u.id, u.full_name) for u in units)]

    @staticmethod
    def local_to_utc(value: datetime | None) -> datetime | None:
        """A time typed in the browser (no zone) is a time in the display zone."""
        if value is None:
            return None
        return value.replace(tzinfo=display_zone())

    def fill(self, activity) -> None:
        zone = display_zone()
        self.kind.data = activity.kind.value
        self.title.data = activity.title
        self.unit.data = activity.unit_id
        self.place.data = activity.place
        self.starts_at.data = activity.starts_at.astimezone(zone).replace(tzinfo=None)
        self.ends_at.data = activity.ends_at.astimezone(zone).replace(tzinfo=None)
        self.hours.data = activity.hours
        self.capacity.data = activity.capacity
        self.needs_registration.data = activity.needs_registration
        self.audience.data = activity.audience_unit_id or 0
        self.needs_check_out.data = activity.needs_check_out
        self.min_stay_minutes.data = activity.min_stay_minutes
        self.description.data = activity.description


class ReasonForm(Form):
    reason = StringField(
        _l("更正原因"),
        validators=[DataRequired(_l("请写明更正的原因")), Length(max=200)],
    )

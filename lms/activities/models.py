"""Activities: learning off the screen (活动周, 读书月, 讲堂, 送课进社区, 培训 …) organised by a
unit, the residents who register for them, and their attendance — however it was recorded (a
scanned rotating code, the resident's personal code scanned by the organiser, or ticked by hand).
When an activity closes, each attendance becomes an activity outcome in the credit bank (the
credits feature listens to ``attendance_counted``; this feature knows nothing of credits)."""

from __future__ import annotations

import enum
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import OrgUnit, User
from lms.core.models import CreatedMixin, hours, intpk, str200, str_enum, utc_datetime
from lms.core.time import utcnow
from lms.extensions import db


class ActivityKind(enum.StrEnum):
    WEEK = "week"
    READING = "reading"
    LECTURE = "lecture"
    COMMUNITY = "community"
    TRAINING = "training"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(
            {
                "week": _l("全民终身学习活动周"),
                "reading": _l("读书月"),
                "lecture": _l("讲堂"),
                "community": _l("送课进社区"),
                "training": _l("培训"),
                "other": _l("其他活动"),
            }[self.value]
        )


class ActivityStatus(enum.StrEnum):
    OPEN = "open"  # announced: registration (if any) and check-in during its window
    CLOSED = "closed"  # attendance final, turned into outcomes
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(
            {"open": _l("进行中"), "closed": _l("已结束"), "cancelled": _l("已取消")}[self.value]
        )


class CheckInMethod(enum.StrEnum):
    SCAN = "scan"  # the resident scanned the organiser's rotating code
    PERSONAL = "personal"  # the organiser scanned the resident's 我的签到码
    HAND = "hand"  # the organiser ticked the name on the list

    @property
    def label(self) -> str:
        return str(
            {"scan": _l("扫码签到"), "personal": _l("扫签到码"), "hand": _l("人工勾选")}[self.value]
        )


def _code_key() -> str:
    return secrets.token_hex(16)


class Activity(CreatedMixin, db.Model):
    """An activity organised by ``unit`` (the unit its staff act for, whose name certifies the
    attendance). ``audience_unit`` limits who may come to the residents of that subtree (None:
    everyone). ``code_key`` is mixed into the rotating check-in code's HMAC, so a code of one
    activity never opens another."""

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind))
    title: Mapped[str200]
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str200]
    starts_at: Mapped[utc_datetime] = mapped_column(index=True)
    ends_at: Mapped[utc_datetime]
    capacity: Mapped[int | None]  # None: no limit
    hours: Mapped[hours]  # 学时 recorded for each attendance
    needs_registration: Mapped[bool] = mapped_column(default=False)
    audience_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    needs_check_out: Mapped[bool] = mapped_column(default=False)
    min_stay_minutes: Mapped[int | None]  # with check-out: the stay that counts
    status: Mapped[ActivityStatus] = mapped_column(
        str_enum(ActivityStatus), default=ActivityStatus.OPEN, index=True
    )
    code_key: Mapped[str] = mapped_column(String(32), default=_code_key)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reminded_at: Mapped[utc_datetime | None]  # the notice the day before was sent
    closed_at: Mapped[utc_datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # None: the task
    cancelled_at: Mapped[utc_datetime | None]

    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])
    audience_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[audience_unit_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        CheckConstraint("hours >= 0", name="hours"),
    )

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.title}>"


class Registration(db.Model):
    """A resident's place at an activity. One row per (activity, user); cancelling keeps the row
    (registering again clears ``cancelled_at``)."""

    id: Mapped[intpk]
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    registered_at: Mapped[utc_datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[utc_datetime | None]

    activity: Mapped[Activity] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("activity_id", "user_id"),)

    @property
    def active(self) -> bool:
        return self.cancelled_at is None


class Attendance(db.Model):
    """A resident was there. One row per (activity, user), whichever way it was recorded, so a
    replayed or parallel check-in creates nothing. ``device_id`` is the scanning phone's cookie
    (the same device checking in several people is shown to the organiser). A correction after
    the activity closed voids the row with a reason (``voided_*``) or adds one (``added_reason``);
    ``counted_at`` is when it was handed to the credit bank (set once, on closing)."""

    id: Mapped[intpk]
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    method: Mapped[CheckInMethod] = mapped_column(str_enum(CheckInMethod))
    device_id: Mapped[str | None] = mapped_column(String(32))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    checked_in_at: Mapped[utc_datetime] = mapped_column(default=utcnow)
    checked_out_at: Mapped[utc_datetime | None]
    added_reason: Mapped[str] = mapped_column(String(200), default="")
    counted_at: Mapped[utc_datetime | None]
    voided_at: Mapped[utc_datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str] = mapped_column(String(200), default="")

    activity: Mapped[Activity] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    __table_args__ = (
        UniqueConstraint("activity_id", "user_id"),
        Index("ix_attendance_activity_device", "activity_id", "device_id"),
    )

    @property
    def valid(self) -> bool:
        return self.voided_at is None

"""The registry's tables: lecturers (讲师团), volunteers with their application's state (志愿者),
and who taught or served at which activity, with the service hours recorded at its close."""

from __future__ import annotations

import enum
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import OrgUnit, User, mask_phone
from lms.activities.models import Activity
from lms.core.models import CreatedMixin, intpk, str40, str100, str200, str_enum, utc_datetime
from lms.core.time import utcnow
from lms.extensions import db


class Lecturer(CreatedMixin, db.Model):
    """A member of a unit's 讲师团. Staff of the unit (or above) keep the entry; ``user`` links
    the lecturer's own account when they have one (they then see their own service)."""

    id: Mapped[intpk]
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    name: Mapped[str40]
    phone: Mapped[str] = mapped_column(String(11), default="")
    subjects: Mapped[str200] = mapped_column(default="")
    qualification: Mapped[str200] = mapped_column(default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    talent_pool: Mapped[bool] = mapped_column(default=False)  # 后备人才库
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    org_unit: Mapped[OrgUnit] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    # One entry per person and unit, however often the form is sent.
    __table_args__ = (UniqueConstraint("org_unit_id", "name", "phone"),)

    @property
    def contact(self) -> str:
        return self.user.phone if self.user is not None else self.phone

    @property
    def masked_contact(self) -> str:
        return mask_phone(self.contact) if self.contact else ""


class VolunteerStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(
            {
                "pending": _l("待审核"),
                "approved": _l("已通过"),
                "refused": _l("未通过"),
                "withdrawn": _l("已退出"),
            }[self.value]
        )


class Volunteer(CreatedMixin, db.Model):
    """A volunteer of a unit's 志愿者队伍, or a resident's application to become one (status
    pending until staff of the unit decide). One row per account: applying again after a
    refusal reopens it. Staff may also enter a volunteer without an account."""

    id: Mapped[intpk]
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    name: Mapped[str40]
    phone: Mapped[str] = mapped_column(String(11), default="")
    skills: Mapped[str200] = mapped_column(default="")
    availability: Mapped[str200] = mapped_column(default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[VolunteerStatus] = mapped_column(
        str_enum(VolunteerStatus), default=VolunteerStatus.PENDING, index=True
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_at: Mapped[utc_datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    talent_pool: Mapped[bool] = mapped_column(default=False)  # 后备人才库

    org_unit: Mapped[OrgUnit] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def contact(self) -> str:
        return self.user.phone if self.user is not None else self.phone

    @property
    def masked_contact(self) -> str:
        return mask_phone(self.contact) if self.contact else ""


class _Service:
    """What an assignment records when its activity closes: the hours of service (the planned
    ``hours``, else the activity's 学时) and when they were recorded. ``recorded_at`` is set by
    one conditional UPDATE, so hours and a volunteer's outcome are recorded once."""

    hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    added_at: Mapped[utc_datetime] = mapped_column(default=utcnow)
    served_hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    recorded_at: Mapped[utc_datetime | None]


class ActivityLecturer(_Service, db.Model):
    """A lecturer from the registry teaching at an activity. For 送课进社区 it is the county's
    record of who taught where: ``residents_came`` is the attendance counted at the close."""

    __tablename__ = "activity_lecturer"

    id: Mapped[intpk]
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    lecturer_id: Mapped[int] = mapped_column(ForeignKey("lecturer.id"), index=True)
    topic: Mapped[str200] = mapped_column(default="")
    residents_came: Mapped[int | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    activity: Mapped[Activity] = relationship()
    lecturer: Mapped[Lecturer] = relationship()

    __table_args__ = (UniqueConstraint("activity_id", "lecturer_id"),)


class ActivityVolunteer(_Service, db.Model):
    """An approved volunteer serving at an activity (``duty``: 签到引导, 秩序维护 …)."""

    __tablename__ = "activity_volunteer"

    id: Mapped[intpk]
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    duty: Mapped[str100] = mapped_column(default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    activity: Mapped[Activity] = relationship()
    volunteer: Mapped[Volunteer] = relationship()

    __table_args__ = (UniqueConstraint("activity_id", "volunteer_id"),)

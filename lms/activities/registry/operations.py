"""Every write of the registry (law 1): lecturers, volunteers and their applications, who teaches
and serves at an activity, and the service hours recorded when it closes. Flush, never commit.
Callers have asked ``registry.access`` whether the actor may act on the entry; the rule that a
lecturer or volunteer must lie in the actor's scope to be chosen is the domain's, kept here."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms.accounts.access import can_manage_user
from lms.accounts.models import OrgUnit, User
from lms.accounts.operations import notify
from lms.accounts.validation import clean_name, normalize_phone
from lms.activities.models import Activity, ActivityStatus, Attendance
from lms.activities.registry import access
from lms.activities.registry.models import (
    ActivityLecturer,
    ActivityVolunteer,
    Lecturer,
    Volunteer,
    VolunteerStatus,
)
from lms.core import signals
from lms.core.errors import Conflict, Forbidden, field_error
from lms.core.numbers import exact_hours
from lms.core.rows import add_unique
from lms.core.text import typed_text
from lms.core.time import utcnow
from lms.core.web import site_url
from lms.extensions import db

MAX_SERVICE_HOURS = Decimal(24)


# Cleaning what staff and residents type ------------------------------------------------------


def _line(value: str | None, field: str, *, limit: int, required: str | None = None) -> str:
    """One line of plain text (tags dropped, spaces collapsed), at most *limit* characters."""
    text = " ".join(typed_text(value).split())
    if required and not text:
        raise field_error(field, required)
    if len(text) > limit:
        raise field_error(field, _("不能超过 %(n)s 个字", n=limit))
    return text


def _name(value: str | None) -> str:
    try:
        return clean_name(value)
    except ValueError as error:
        raise field_error("name", str(error)) from None


def _phone(value: str | None, *, required: bool) -> str:
    if not (value or "").strip() and not required:
        return ""
    try:
        return normalize_phone(value)
    except ValueError as error:
        raise field_error("phone", str(error)) from None


def _in_scope(actor: User, unit: OrgUnit) -> OrgUnit:
    if not access.can_keep(actor, unit):
        raise field_error("unit", _("只能登记到您管理的单位"), status=403)
    return unit


def _account(actor: User, phone: str) -> User | None:
    """The account with *phone*, when *actor* administers it (so linking tells staff nothing
    they could not see on the people pages)."""
    if not phone:
        return None
    user = db.session.scalar(select(User).filter_by(phone=phone))
    if user is None or not can_manage_user(actor, user):
        return None
    return user


def _hours(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return exact_hours(
        value, maximum=MAX_SERVICE_HOURS, too_many=_("一次服务的时长不能超过 24 小时")
    )


# Lecturers (讲师团) ----------------------------------------------------------------------------


def add_lecturer(
    actor: User,
    *,
    unit: OrgUnit,
    name: str,
    phone: str = "",
    subjects: str = "",
    qualification: str = "",
    bio: str = "",
    talent_pool: bool = False,
) -> Lecturer:
    """Enter a lecturer into *unit*'s 讲师团 (a unit *actor* keeps). A phone of an account
    *actor* looks after links that account (once: an account is one lecturer)."""
    lecturer = Lecturer(
        org_unit_id=_in_scope(actor, unit).id,
        name=_name(name),
        phone=_phone(phone, required=False),
        subjects=_line(subjects, "subjects", limit=200, required=_("请填写擅长的课程或领域")),
        qualification=_line(qualification, "qualification", limit=200),
        bio=typed_text(bio)[:2000],
        talent_pool=bool(talent_pool),
        created_by_id=actor.id,
    )
    account = _account(actor, lecturer.phone)
    if account is not None and not db.session.scalar(
        select(func.count()).select_from(Lecturer).filter_by(user_id=account.id)
    ):
        lecturer.user_id = account.id
    if not add_unique(lecturer):
        raise Conflict(_("这位讲师已经在该单位的讲师团中"))
    return lecturer


def update_lecturer(
    actor: User,
    lecturer: Lecturer,
    *,
    unit: OrgUnit,
    name: str,
    phone: str = "",
    subjects: str = "",
    qualification: str = "",
    bio: str = "",
    talent_pool: bool = False,
    active: bool = True,
) -> Lecturer:
    """Change a lecturer's entry (moving it only to another unit *actor* keeps)."""
    lecturer.org_unit_id = _in_scope(actor, unit).id
    lecturer.name = _name(name)
    lecturer.phone = _phone(phone, required=False)
    lecturer.subjects = _line(subjects, "subjects", limit=200, required=_("请填写擅长的课程或领域"))
    lecturer.qualification = _line(qualification, "qualification", limit=200)
    lecturer.bio = typed_text(bio)[:2000]
    lecturer.talent_pool = bool(talent_pool)
    lecturer.active = bool(active)
    clash = db.session.scalar(
        select(Lecturer.id).where(
            Lecturer.org_unit_id == lecturer.org_unit_id,
            Lecturer.name == lecturer.name,
            Lecturer.phone == lecturer.phone,
            Lecturer.id != lecturer.id,
        )
    )
    if clash is not None:
        raise Conflict(_("该单位的讲师团中已有同名同号码的讲师"))
    db.session.flush()
    db.session.expire(lecturer, ["org_unit"])
    return lecturer


# Volunteers (志愿者) and their applications --------------------------------------------------


def apply_to_volunteer(user: User, *, skills: str, availability: str, note: str = "") -> Volunteer:
    """A resident applies to join the 志愿者队伍 of their home unit; staff there decide. Applying
    again after a refusal (or after leaving) reopens the same entry."""
    skills = _line(skills, "skills", limit=200, required=_("请填写您的特长或能提供的服务"))
    availability = _line(
        availability, "availability", limit=200, required=_("请填写您方便服务的时间")
    )
    note = _line(note, "note", limit=500)
    volunteer = access.own_volunteer(user)
    if volunteer is not None:
        if volunteer.status is VolunteerStatus.PENDING:
            raise Conflict(_("您的申请已提交，正在等待审核，不必重复提交"))
        if volunteer.status is VolunteerStatus.APPROVED:
            raise Conflict(_("您已经是志愿者了"))
        reopened = db.session.execute(
            update(Volunteer)
            .where(Volunteer.id == volunteer.id, Volunteer.status == volunteer.status)
            .values(
                status=VolunteerStatus.PENDING,
                org_unit_id=user.org_unit_id,
                name=user.name,
                skills=skills,
                availability=availability,
                note=note,
                reason="",
                decided_at=None,
                decided_by_id=None,
            )
            .execution_options(synchronize_session=False)
        )
        if reopened.rowcount != 1:
            raise Conflict(_("您的申请已提交，正在等待审核，不必重复提交"))
        db.session.refresh(volunteer)
        return volunteer
    volunteer = Volunteer(
        org_unit_id=user.org_unit_id,
        user_id=user.id,
        name=user.name,
        skills=skills,
        availability=availability,
        note=note,
        status=VolunteerStatus.PENDING,
    )
    if not add_unique(volunteer):  # a second tap, racing the first
        raise Conflict(_("您的申请已提交，正在等待审核，不必重复提交"))
    return volunteer


def withdraw_volunteering(user: User) -> Volunteer:
    """A resident leaves the 志愿者队伍 (or takes back an application); their service so far
    stays recorded, and they may apply again."""
    volunteer = access.own_volunteer(user)
    if volunteer is None:
        raise Conflict(_("您还没有申请成为志愿者"))
    left = db.session.execute(
        update(Volunteer)
        .where(
            Volunteer.id == volunteer.id,
            Volunteer.status.in_((VolunteerStatus.PENDING, VolunteerStatus.APPROVED)),
        )
        .values(status=VolunteerStatus.WITHDRAWN, decided_at=utcnow(), decided_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if left.rowcount != 1:
        raise Conflict(_("您已经退出了志愿者队伍"))
    db.session.refresh(volunteer)
    return volunteer


def decide_volunteer(
    actor: User, volunteer: Volunteer, *, approve: bool, reason: str = ""
) -> Volunteer:
    """Approve or refuse a pending application (refusing needs a reason); the resident gets a
    notice. Nobody decides their own application."""
    if volunteer.user_id == actor.id:
        raise Forbidden(_("不能审核自己的志愿者申请，请由其他管理员处理"))
    reason = " ".join((reason or "").split())
    if not approve and len(reason) < 2:
        raise field_error("reason", _("请写明不通过的原因，方便居民了解"))
    if len(reason) > 500:
        raise field_error("reason", _("原因不能超过 500 个字"))
    status = VolunteerStatus.APPROVED if approve else VolunteerStatus.REFUSED
    # One conditional UPDATE decides, so two staff (or a double tap) cannot both decide.
    decided = db.session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer.id, Volunteer.status == VolunteerStatus.PENDING)
        .values(status=status, reason=reason, decided_at=utcnow(), decided_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:
        raise Conflict(_("这份申请已经处理过了"))
    db.session.refresh(volunteer)
    if volunteer.user is not None:
        if approve:
            notify(
                volunteer.user,
                _("您的志愿者申请已通过，欢迎加入志愿者队伍"),
                link=site_url("registry.my_volunteering"),
            )
        else:
            notify(
                volunteer.user,
                _("您的志愿者申请未通过"),
                body=reason,
                link=site_url("registry.my_volunteering"),
            )
    return volunteer


def add_volunteer(
    actor: User,
    *,
    unit: OrgUnit,
    name: str,
    phone: str,
    skills: str,
    availability: str = "",
    talent_pool: bool = False,
) -> Volunteer:
    """Staff enter a volunteer directly (approved at once). A phone of an account *actor* looks
    after links it; that account must not have an entry already."""
    volunteer = Volunteer(
        org_unit_id=_in_scope(actor, unit).id,
        name=_name(name),
        phone=_phone(phone, required=True),
        skills=_line(skills, "skills", limit=200, required=_("请填写特长或能提供的服务")),
        availability=_line(availability, "availability", limit=200),
        status=VolunteerStatus.APPROVED,
        decided_at=utcnow(),
        decided_by_id=actor.id,
        talent_pool=bool(talent_pool),
    )
    account = _account(actor, volunteer.phone)
    if account is not None:
        volunteer.user_id = account.id
        volunteer.phone = ""
    if not add_unique(volunteer):
        raise Conflict(_("这位居民已经在志愿者队伍中，或已提交申请"))
    return volunteer


def update_volunteer(
    actor: User,
    volunteer: Volunteer,
    *,
    skills: str,
    availability: str = "",
    talent_pool: bool = False,
) -> Volunteer:
    """Staff keep a volunteer's skills, availability and the 后备人才库 flag."""
    volunteer.skills = _line(skills, "skills", limit=200, required=_("请填写特长或能提供的服务"))
    volunteer.availability = _line(availability, "availability", limit=200)
    volunteer.talent_pool = bool(talent_pool)
    db.session.flush()
    return volunteer


# Who teaches and serves at an activity --------------------------------------------------------


def _staffable(activity: Activity) -> None:
    if activity.status is not ActivityStatus.OPEN:
        raise Conflict(_("活动已结束或已取消，不能再调整讲师和志愿者"))


def assign_lecturer(
    actor: User, activity: Activity, lecturer: Lecturer, *, topic: str = "", hours=None
) -> ActivityLecturer:
    """*lecturer* teaches at *activity* (*topic*: what; *hours*: the service to record, else
    the activity's). Only a lecturer of the 讲师团 *actor* keeps may be chosen; choosing one
    again changes the topic and hours."""
    _staffable(activity)
    if not lecturer.active or not access.can_keep(actor, lecturer.org_unit):
        raise field_error(
            "lecturer_id",
            _("“%(name)s”不在您管理的讲师团中，不能安排到本活动", name=lecturer.name),
            status=403,
        )
    topic = _line(topic, "topic", limit=200)
    hours = _hours(hours)
    assignment = _assignment(
        ActivityLecturer, actor, activity_id=activity.id, lecturer_id=lecturer.id
    )
    assignment.topic = topic
    assignment.hours = hours
    db.session.flush()
    return assignment


def assign_volunteer(
    actor: User, activity: Activity, volunteer: Volunteer, *, duty: str = "", hours=None
) -> ActivityVolunteer:
    """An approved volunteer of a unit *actor* keeps serves at *activity* (*duty*: what they
    do; *hours*: the service to record, else the activity's)."""
    _staffable(activity)
    if volunteer.status is not VolunteerStatus.APPROVED or not access.can_keep(
        actor, volunteer.org_unit
    ):
        raise field_error(
            "volunteer_id",
            _("“%(name)s”不是您管理范围内已通过审核的志愿者", name=volunteer.name),
            status=403,
        )
    duty = _line(duty, "duty", limit=100)
    hours = _hours(hours)
    assignment = _assignment(
        ActivityVolunteer, actor, activity_id=activity.id, volunteer_id=volunteer.id
    )
    assignment.duty = duty
    assignment.hours = hours
    db.session.flush()
    return assignment


def _assignment(model, actor: User, **key: int):
    """The assignment row of *key* (activity and person), added by *actor* when there is none;
    a parallel request that added it first wins and its row is returned."""
    assignment = db.session.scalar(select(model).filter_by(**key))
    if assignment is None:
        assignment = model(**key, added_by_id=actor.id)
        if not add_unique(assignment):  # a parallel request chose the same person
            assignment = db.session.scalar(select(model).filter_by(**key))
    return assignment


def remove_assignment(activity: Activity, assignment: ActivityLecturer | ActivityVolunteer):
    """Take a lecturer or volunteer off an activity that has not closed."""
    _staffable(activity)
    if assignment.activity_id != activity.id:
        raise Conflict(_("该人员没有安排在本活动中"))
    db.session.delete(assignment)
    db.session.flush()


def service_hours(activity: Activity, planned: Decimal | None) -> Decimal:
    """The hours an assignment records: as planned, else the activity's 学时, else how long it
    lasted (at most 24)."""
    if planned is not None:
        return planned
    if activity.hours and activity.hours > 0:
        return Decimal(activity.hours)
    lasted = Decimal((activity.ends_at - activity.starts_at).total_seconds()) / 3600
    return min(lasted, MAX_SERVICE_HOURS).quantize(Decimal("0.1"))


def record_service(activity: Activity) -> int:
    """The activity closed: record the service hours of each lecturer and volunteer on it, with
    the residents who came (送课进社区 reports it), and send ``volunteer_served`` for each
    volunteer with an account. Each assignment is claimed by one conditional UPDATE, so calling
    this again (or from two closes at once) records nothing twice. Returns how many it
    recorded."""
    now = activity.closed_at or utcnow()  # when it closed (the demo closes past activities)
    came = db.session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(
            Attendance.activity_id == activity.id,
            Attendance.counted_at.is_not(None),
            Attendance.voided_at.is_(None),
        )
    )
    recorded = 0
    for model in (ActivityLecturer, ActivityVolunteer):
        rows = db.session.scalars(
            select(model).where(model.activity_id == activity.id, model.recorded_at.is_(None))
        ).all()
        for assignment in rows:
            values = {"served_hours": service_hours(activity, assignment.hours), "recorded_at": now}
            if model is ActivityLecturer:
                values["residents_came"] = came
            claimed = db.session.execute(
                update(model)
                .where(model.id == assignment.id, model.recorded_at.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                continue  # recorded by a parallel close
            db.session.refresh(assignment)
            recorded += 1
            if (
                model is ActivityVolunteer
                and assignment.volunteer.user_id is not None
                and assignment.served_hours > 0
            ):
                signals.volunteer_served.send(assignment)
    return recorded

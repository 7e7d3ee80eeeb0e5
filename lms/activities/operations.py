"""Every write of activities (law 1): creating, editing and cancelling an activity, registering,
checking in and out (three ways, one attendance), closing (which hands each attendance to the
credit bank through ``signals.attendance_counted``) and corrections after closing. Flush, never
commit. Who may act was decided by the caller (``access``); the rules of the domain are here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms.accounts.models import OrgUnit, User
from lms.accounts.operations import notify
from lms.activities import access
from lms.activities.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Attendance,
    CheckInMethod,
    Registration,
)
from lms.core import signals
from lms.core.errors import Conflict, Forbidden, field_error
from lms.core.numbers import exact_hours
from lms.core.rows import add_unique
from lms.core.text import clean_title, typed_text
from lms.core.time import format_local, local_date, utcnow
from lms.core.web import site_url
from lms.extensions import db

MAX_HOURS = Decimal(200)  # an activity week of many sessions, not more
MAX_CAPACITY = 100_000
MAX_DAYS = 31
MAX_STAY_MINUTES = 24 * 60


def check_in_margin() -> timedelta:
    """How long before the start and after the end check-in stays open."""
    return timedelta(minutes=current_app.config["LMS_ACTIVITY_CHECK_IN_MARGIN_MINUTES"])


def correction_window() -> timedelta:
    """How long after closing an organiser may still correct the attendance."""
    return timedelta(days=current_app.config["LMS_ACTIVITY_CORRECTION_DAYS"])


# Creating and editing ------------------------------------------------------------------------


@dataclass
class ActivityData:
    """An activity as typed (web form or API); ``check`` turns it into what is stored."""

    unit: OrgUnit | None
    kind: str | None
    title: str | None
    place: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    hours: object
    capacity: int | None = None
    description: str = ""
    needs_registration: bool = False
    audience_unit: OrgUnit | None = None
    needs_check_out: bool = False
    min_stay_minutes: int | None = None


def _check(actor: User, data: ActivityData, *, existing: Activity | None = None) -> dict:
    if data.unit is None:
        raise field_error("unit", _("请选择主办单位"))
    if not access.can_organise_for(actor, data.unit):
        raise field_error("unit", _("您不能为该单位组织活动"), status=403)
    if data.kind not in {kind.value for kind in ActivityKind}:
        raise field_error("kind", _("请选择活动类别"))
    title = clean_title(data.title)
    place = " ".join(typed_text(data.place).split())
    if not place:
        raise field_error("place", _("请填写活动地点"))
    if len(place) > 200:
        raise field_error("place", _("地点不能超过 200 个字"))
    if data.starts_at is None:
        raise field_error("starts_at", _("请填写开始时间"))
    if data.ends_at is None:
        raise field_error("ends_at", _("请填写结束时间"))
    if data.starts_at.tzinfo is None or data.ends_at.tzinfo is None:
        raise field_error("starts_at", _("时间须带时区"))
    if data.ends_at <= data.starts_at:
        raise field_error("ends_at", _("结束时间必须晚于开始时间"))
    if data.ends_at - data.starts_at > timedelta(days=MAX_DAYS):
        raise field_error("ends_at", _("一项活动最长 %(n)s 天", n=MAX_DAYS))
    now = utcnow()
    if (existing is None or data.starts_at != existing.starts_at) and data.starts_at < now - (
        timedelta(days=1)
    ):
        raise field_error("starts_at", _("开始时间不能早于昨天"))
    if data.starts_at > now + timedelta(days=366):
        raise field_error("starts_at", _("只能安排一年以内的活动"))
    hours = exact_hours(
        data.hours, maximum=MAX_HOURS, too_many=_("学时不能超过 %(n)s", n=int(MAX_HOURS))
    )
    capacity = data.capacity
    if capacity is not None and not 0 < capacity <= MAX_CAPACITY:
        raise field_error("capacity", _("人数上限须在 1 到 %(n)s 之间", n=MAX_CAPACITY))
    if existing is not None and capacity is not None:
        taken = registered_count(existing)
        if capacity < taken:
            raise field_error("capacity", _("已有 %(n)s 人报名，上限不能少于此数", n=taken))
    audience = data.audience_unit
    if audience is not None and not access.can_organise_for(actor, audience):
        raise field_error("audience_unit", _("参加范围须在您的管理范围内"), status=403)
    stay = data.min_stay_minutes if data.needs_check_out else None
    if stay is not None and not 0 < stay <= MAX_STAY_MINUTES:
        raise field_error("min_stay_minutes", _("最短停留时间须在 1 到 1440 分钟之间"))
    if stay is not None and timedelta(minutes=stay) > data.ends_at - data.starts_at:
        raise field_error("min_stay_minutes", _("最短停留时间不能超过活动时长"))
    description = typed_text(data.description)
    if len(description) > 5000:
        raise field_error("description", _("活动介绍不能超过 5000 个字"))
    return {
        "unit_id": data.unit.id,
        "kind": ActivityKind(data.kind),
        "title": title,
        "description": description,
        "place": place,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "capacity": capacity,
        "hours": hours,
        "needs_registration": bool(data.needs_registration),
        "audience_unit_id": audience.id if audience is not None else None,
        "needs_check_out": bool(data.needs_check_out),
        "min_stay_minutes": stay,
    }


def create_activity(actor: User, data: ActivityData) -> Activity:
    """An organiser announces an activity of their unit (or a unit below it)."""
    activity = Activity(**_check(actor, data), created_by_id=actor.id)
    db.session.add(activity)
    db.session.flush()
    return activity


def update_activity(actor: User, activity: Activity, data: ActivityData) -> Activity:
    """Change an activity that has not closed; a changed time or place is told to those who
    registered."""
    _require_open(activity)
    values = _check(actor, data, existing=activity)
    moved = (values["starts_at"], values["place"]) != (activity.starts_at, activity.place)
    for name, value in values.items():
        setattr(activity, name, value)
    if moved:
        activity.reminded_at = None  # the reminder goes out again for the new day
        for user in registered_users(activity):
            notify(
                user,
                _("活动“%(title)s”的时间或地点有变化", title=activity.title),
                body=_(
                    "新的时间：%(when)s；地点：%(place)s",
                    when=format_local(activity.starts_at),
                    place=activity.place,
                ),
                link=site_url("activities.activity", activity_id=activity.id),
            )
    db.session.flush()
    return activity


def cancel_activity(actor: User, activity: Activity) -> None:
    """Call an activity off before anyone checked in; those registered are told."""
    _require_open(activity)
    if attendance_count(activity):
        raise Conflict(_("已经有人签到，不能取消活动；请在活动结束后结束活动"))
    activity.status = ActivityStatus.CANCELLED
    activity.cancelled_at = utcnow()
    for user in registered_users(activity):
        notify(
            user,
            _("活动“%(title)s”已取消", title=activity.title),
            link=site_url("activities.activity", activity_id=activity.id),
        )
    db.session.flush()


def _require_open(activity: Activity) -> None:
    if activity.status is ActivityStatus.CANCELLED:
        raise Conflict(_("该活动已取消"))
    if activity.status is ActivityStatus.CLOSED:
        raise Conflict(_("该活动已经结束"))


def _lock(activity: Activity) -> None:
    # A no-op UPDATE: the row lock on PostgreSQL, the write lock on SQLite. Check-ins and
    # registrations of one activity count the places one after another.
    db.session.execute(
        update(Activity)
        .where(Activity.id == activity.id)
        .values(capacity=Activity.capacity)
        .execution_options(synchronize_session=False)
    )


# Registration ----------------------------------------------------------------------------


def registered_count(activity: Activity) -> int:
    return db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.activity_id == activity.id, Registration.cancelled_at.is_(None)
        )
    )


def registered_users(activity: Activity) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Registration, Registration.user_id == User.id)
            .where(Registration.activity_id == activity.id, Registration.cancelled_at.is_(None))
        )
    )


def registration_of(user: User, activity: Activity) -> Registration | None:
    return db.session.scalar(
        select(Registration).filter_by(activity_id=activity.id, user_id=user.id)
    )


def register(user: User, activity: Activity) -> tuple[Registration, bool]:
    """Take a place; registering twice returns the place already taken (and False)."""
    _require_open(activity)
    if not access.may_attend(user, activity):
        raise Forbidden(_("本活动只面向%(unit)s的居民", unit=activity.audience_unit.name))
    if activity.ends_at <= utcnow():
        raise Conflict(_("活动已经结束，不能再报名"))
    registration = registration_of(user, activity)
    if registration is not None and registration.active:
        return registration, False
    _lock(activity)
    if activity.capacity is not None and registered_count(activity) >= activity.capacity:
        raise Conflict(_("名额已满"))
    if registration is None:
        registration = Registration(activity_id=activity.id, user_id=user.id)
        if not add_unique(registration):  # a second tap got there first
            return registration_of(user, activity), False
    else:
        registration.cancelled_at = None
        registration.registered_at = utcnow()
    db.session.flush()
    return registration, True


def cancel_registration(user: User, activity: Activity) -> None:
    """Give the place back (until the activity starts); cancelling twice changes nothing."""
    registration = registration_of(user, activity)
    if registration is None or not registration.active:
        return
    if activity.starts_at <= utcnow():
        raise Conflict(_("活动已经开始，不能取消报名"))
    registration.cancelled_at = utcnow()
    db.session.flush()


# Check-in ----------------------------------------------------------------------------------


def attendance_of(user: User, activity: Activity) -> Attendance | None:
    return db.session.scalar(select(Attendance).filter_by(activity_id=activity.id, user_id=user.id))


def attendance_count(activity: Activity) -> int:
    return db.session.scalar(
        select(func.count(Attendance.id)).where(
            Attendance.activity_id == activity.id, Attendance.voided_at.is_(None)
        )
    )


def check_in_open(activity: Activity, moment: datetime) -> bool:
    margin = check_in_margin()
    return (
        activity.status is ActivityStatus.OPEN
        and activity.starts_at - margin <= moment <= activity.ends_at + margin
    )


def check_window(activity: Activity, moment: datetime) -> None:
    """Refuse (409, saying when) a check-in outside the activity's window and margin."""
    _require_open(activity)
    margin = check_in_margin()
    if moment < activity.starts_at - margin:
        raise Conflict(
            _(
                "签到还没开始：活动开始前 %(n)s 分钟开放签到（%(when)s）",
                n=int(margin.total_seconds() // 60),
                when=format_local(activity.starts_at - margin),
            )
        )
    if moment > activity.ends_at + margin:
        raise Conflict(_("签到已经结束"))


def check_in(
    activity: Activity,
    user: User,
    *,
    method: CheckInMethod,
    by: User | None = None,
    device_id: str | None = None,
    now: datetime | None = None,
) -> tuple[Attendance, bool]:
    """Record that *user* is at *activity* — by their scan of the rotating code (the code was
    checked by the caller), by the organiser *by* scanning their personal code, or ticked by
    hand. One attendance per resident: a second check-in returns the first (and False), a
    replay or a parallel request creates nothing."""
    now = now or utcnow()
    check_window(activity, now)
    if by is not None and by.id == user.id:
        raise Forbidden(_("不能为自己签到，请扫活动签到码"))
    if not access.may_attend(user, activity):
        raise Forbidden(_("本活动只面向%(unit)s的居民", unit=activity.audience_unit.name))
    existing = attendance_of(user, activity)
    if existing is not None:
        if not existing.valid:
            raise Conflict(_("这次签到已被组织者撤销，如有疑问请联系组织者"))
        return existing, False
    _lock(activity)
    registration = registration_of(user, activity)
    registered = registration is not None and registration.active
    if activity.needs_registration and not registered and activity.capacity is not None:
        # Walk-ins fill the places nobody registered for.
        taken = db.session.scalar(
            select(func.count(Attendance.id)).where(
                Attendance.activity_id == activity.id,
                Attendance.voided_at.is_(None),
                ~Attendance.user_id.in_(
                    select(Registration.user_id).where(
                        Registration.activity_id == activity.id,
                        Registration.cancelled_at.is_(None),
                    )
                ),
            )
        )
        if registered_count(activity) + taken >= activity.capacity:
            raise Conflict(_("名额已满，本活动需要提前报名"))
    elif (
        activity.capacity is not None
        and not registered
        and attendance_count(activity) >= activity.capacity
    ):
        raise Conflict(_("名额已满"))
    attendance = Attendance(
        activity_id=activity.id,
        user_id=user.id,
        method=method,
        device_id=device_id if method is CheckInMethod.SCAN else None,
        recorded_by_id=by.id if by is not None else None,
        checked_in_at=now,
    )
    if not add_unique(attendance):  # a parallel check-in of the same resident won
        return attendance_of(user, activity), False
    return attendance, True


def check_out(activity: Activity, attendance: Attendance, *, now: datetime | None = None) -> bool:
    """Record leaving (when the activity asks for it). False when already checked out."""
    now = now or utcnow()
    check_window(activity, now)
    if not activity.needs_check_out:
        raise Conflict(_("本活动不需要签退"))
    if attendance.checked_out_at is not None:
        return False
    if activity.min_stay_minutes:
        left = attendance.checked_in_at + timedelta(minutes=activity.min_stay_minutes) - now
        if left > timedelta(0):
            raise Conflict(
                _(
                    "参加满 %(n)s 分钟后才能签退，还差 %(m)s 分钟",
                    n=activity.min_stay_minutes,
                    m=int(left.total_seconds() // 60) + 1,
                )
            )
    result = db.session.execute(
        update(Attendance)
        .where(Attendance.id == attendance.id, Attendance.checked_out_at.is_(None))
        .values(checked_out_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(attendance)
    return result.rowcount == 1


def stay_short_by(activity: Activity, attendance: Attendance) -> timedelta | None:
    """How much longer the resident must stay before checking out counts (None: enough)."""
    if not activity.min_stay_minutes:
        return None
    needed = attendance.checked_in_at + timedelta(minutes=activity.min_stay_minutes)
    left = needed - (attendance.checked_out_at or utcnow())
    return left if left > timedelta(0) else None


def counts(activity: Activity, attendance: Attendance) -> bool:
    """Whether an attendance becomes learning: valid, and — when the activity asks for a
    check-out — checked out after the minimum stay. Ticked by the organiser counts as whole."""
    if not attendance.valid:
        return False
    if not activity.needs_check_out or attendance.method is CheckInMethod.HAND:
        return True
    if attendance.checked_out_at is None:
        return False
    return stay_short_by(activity, attendance) is None


def shared_devices(activity: Activity) -> dict[str, int]:
    """Devices that checked in more than one resident at *activity*: device id → how many."""
    rows = db.session.execute(
        select(Attendance.device_id, func.count(Attendance.id))
        .where(
            Attendance.activity_id == activity.id,
            Attendance.device_id.is_not(None),
            Attendance.voided_at.is_(None),
        )
        .group_by(Attendance.device_id)
        .having(func.count(Attendance.id) > 1)
    )
    return dict(rows.all())


# Closing and corrections -------------------------------------------------------------------


def close_activity(activity: Activity, *, by: User | None = None, now: datetime | None = None):
    """Close an activity that has started: its attendance becomes final and each attendance
    that counts is handed to the credit bank. One conditional UPDATE decides, so an organiser's
    tap and the periodic task (or two taps) close it once. Returns the attendances counted."""
    now = now or utcnow()
    if activity.status is ActivityStatus.OPEN and activity.starts_at > now:
        raise Conflict(_("活动还没开始，不能结束；如不再举办请取消活动"))
    result = db.session.execute(
        update(Activity)
        .where(Activity.id == activity.id, Activity.status == ActivityStatus.OPEN)
        .values(status=ActivityStatus.CLOSED, closed_at=now, closed_by_id=by.id if by else None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(activity)
        cancelled = activity.status is ActivityStatus.CANCELLED
        raise Conflict(_("该活动已取消") if cancelled else _("该活动已经结束"))
    db.session.refresh(activity)
    counted = []
    attendances = db.session.scalars(
        select(Attendance).where(Attendance.activity_id == activity.id).order_by(Attendance.id)
    ).all()
    for attendance in attendances:
        if counts(activity, attendance):
            attendance.counted_at = now
            counted.append(attendance)
    db.session.flush()
    for attendance in counted:
        signals.attendance_counted.send(attendance, by=by)
    signals.activity_closed.send(activity)  # the registry records service hours
    db.session.flush()
    return counted


def close_due_activities(*, now: datetime | None = None) -> int:
    """Close every open activity whose check-in window has passed (the periodic task)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Activity)
        .where(
            Activity.status == ActivityStatus.OPEN,
            Activity.ends_at < now - check_in_margin(),
        )
        .order_by(Activity.id)
    ).all()
    closed = 0
    for activity in due:
        try:
            with db.session.begin_nested():
                close_activity(activity, now=now)
            closed += 1
        except Conflict:
            continue  # an organiser closed it meanwhile
    return closed


def _correction_allowed(activity: Activity) -> None:
    if activity.status is not ActivityStatus.CLOSED:
        return
    if utcnow() > activity.closed_at + correction_window():
        raise Conflict(
            _(
                "活动结束已超过 %(n)s 天，不能再更正签到；请联系学分银行专员",
                n=correction_window().days,
            )
        )


def _reason(reason: str | None) -> str:
    reason = " ".join(typed_text(reason).split())
    if len(reason) < 2:
        raise field_error("reason", _("请写明更正的原因"))
    if len(reason) > 200:
        raise field_error("reason", _("原因不能超过 200 个字"))
    return reason


def void_attendance(actor: User, attendance: Attendance, *, reason: str | None) -> None:
    """Strike out an attendance recorded by mistake, with a reason. After closing (within the
    correction window) what it earned is reversed by the credit bank."""
    activity = attendance.activity
    if activity.status is ActivityStatus.CANCELLED:
        raise Conflict(_("该活动已取消"))
    _correction_allowed(activity)
    reason = _reason(reason)
    if attendance.user_id == actor.id:
        raise Forbidden(_("不能更正自己的签到，请由其他组织者办理"))
    result = db.session.execute(
        update(Attendance)
        .where(Attendance.id == attendance.id, Attendance.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=actor.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("这条签到已经撤销过了"))
    db.session.refresh(attendance)
    if attendance.counted_at is not None:
        signals.attendance_voided.send(attendance, actor=actor, reason=reason)
    notify(
        attendance.user,
        _("您在“%(title)s”的签到已被组织者撤销", title=activity.title),
        body=reason,
        link=site_url("activities.activity", activity_id=activity.id),
    )
    db.session.flush()


def add_attendance(
    actor: User, activity: Activity, user: User, *, reason: str | None = None
) -> tuple[Attendance, bool]:
    """The organiser ticks a resident by hand (人工勾选). After closing — within the correction
    window and with a reason — the attendance counts at once."""
    if activity.status is not ActivityStatus.CLOSED:
        return check_in(activity, user, method=CheckInMethod.HAND, by=actor)
    _correction_allowed(activity)
    reason = _reason(reason)
    if actor.id == user.id:
        raise Forbidden(_("不能为自己补记签到，请由其他组织者办理"))
    if not access.may_attend(user, activity):
        raise Forbidden(_("本活动只面向%(unit)s的居民", unit=activity.audience_unit.name))
    if attendance_of(user, activity) is not None:
        raise Conflict(_("这位居民已有签到记录"))
    attendance = Attendance(
        activity_id=activity.id,
        user_id=user.id,
        method=CheckInMethod.HAND,
        recorded_by_id=actor.id,
        checked_in_at=activity.starts_at,
        added_reason=reason,
        counted_at=utcnow(),
    )
    if not add_unique(attendance):
        raise Conflict(_("这位居民已有签到记录"))
    signals.attendance_counted.send(attendance, by=actor)
    db.session.flush()
    return attendance, True


# Reminders ---------------------------------------------------------------------------------


def send_reminders(*, now: datetime | None = None) -> int:
    """The notice the day before: residents registered for an activity that starts tomorrow
    (local day) are reminded once. Returns how many activities were reminded of."""
    now = now or utcnow()
    tomorrow = local_date(now) + timedelta(days=1)
    candidates = db.session.scalars(
        select(Activity).where(
            Activity.status == ActivityStatus.OPEN,
            Activity.reminded_at.is_(None),
            Activity.starts_at > now,
            Activity.starts_at < now + timedelta(days=2),
        )
    ).all()
    reminded = 0
    for activity in candidates:
        if local_date(activity.starts_at) != tomorrow:
            continue
        claimed = db.session.execute(
            update(Activity)
            .where(Activity.id == activity.id, Activity.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue  # another worker has it
        for user in registered_users(activity):
            notify(
                user,
                _("明天有活动：%(title)s", title=activity.title),
                body=_(
                    "时间：%(when)s；地点：%(place)s",
                    when=format_local(activity.starts_at),
                    place=activity.place,
                ),
                link=site_url("activities.activity", activity_id=activity.id),
            )
        reminded += 1
    db.session.flush()
    return reminded

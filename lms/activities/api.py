"""The activities API under /api/v1 (API.md: activities): the list near the caller, one activity,
creating one, registration, check-in by the rotating code or by a resident's personal code, the
attendance list and closing. The same operations as the pages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import AwareDatetime, BaseModel, Field

from lms.accounts.access import shown_phone
from lms.accounts.models import OrgUnit, User
from lms.activities import access, api_bp, codes, listing, operations
from lms.activities.models import Activity, ActivityKind, CheckInMethod
from lms.core.api import ApiError, Id, Page, Schema, endpoint
from lms.core.errors import Forbidden
from lms.core.paging import paginate
from lms.core.time import utcnow
from lms.extensions import db


class UnitRef(BaseModel):
    id: int
    name: str


class ActivityOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    hours: float
    capacity: int | None
    needs_registration: bool
    needs_check_out: bool
    min_stay_minutes: int | None
    status: str
    unit: UnitRef
    audience_unit: UnitRef | None
    registered: int
    present: int
    url: str
    ics_url: str


class ActivityList(BaseModel):
    items: list[ActivityOut]
    total: int
    page: int
    per_page: int


class ActivityIn(Schema):
    unit_id: Id = Field(description="主办单位（须在调用者的组织范围内）")
    kind: Literal["week", "reading", "lecture", "community", "training", "other"]
    title: str = Field(max_length=400)
    place: str = Field(max_length=400)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    hours: Decimal = Field(description="每位签到者记录的学时，保留一位小数")
    capacity: int | None = Field(None, description="人数上限；不限为 null")
    description: str = Field("", max_length=10000)
    needs_registration: bool = False
    audience_unit_id: Id | None = Field(None, description="只面向该单位的居民；所有居民为 null")
    needs_check_out: bool = False
    min_stay_minutes: int | None = None


class RegistrationOut(BaseModel):
    activity_id: int
    registered_at: datetime


class CheckInIn(Schema):
    code: str | None = Field(
        None, max_length=64, description="居民：现场轮换二维码中的签到码（15 秒更换）"
    )
    resident_code: str | None = Field(
        None, max_length=64, description="组织者：居民“我的签到码”中的个人签到码"
    )


class AttendanceOut(BaseModel):
    id: int
    user: UnitRef
    phone: str
    method: Literal["scan", "personal", "hand"]
    checked_in_at: datetime
    checked_out_at: datetime | None
    shared_device: int = Field(description="同一手机签到的人数（大于 1 时请核实）")
    valid: bool
    counted: bool


class CheckInOut(BaseModel):
    created: bool
    checked_out: bool
    attendance: AttendanceOut


class AttendanceList(BaseModel):
    items: list[AttendanceOut]
    total: int


class CloseOut(BaseModel):
    counted: int


def activity_out(activity: Activity, figures: tuple[int, int]) -> dict:
    return ActivityOut(
        id=activity.id,
        kind=activity.kind.value,
        kind_label=activity.kind.label,
        title=activity.title,
        description=activity.description,
        place=activity.place,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        hours=float(activity.hours),
        capacity=activity.capacity,
        needs_registration=activity.needs_registration,
        needs_check_out=activity.needs_check_out,
        min_stay_minutes=activity.min_stay_minutes,
        status=activity.status.value,
        unit=UnitRef(id=activity.unit.id, name=activity.unit.name),
        audience_unit=UnitRef(id=activity.audience_unit.id, name=activity.audience_unit.name)
        if activity.audience_unit
        else None,
        registered=figures[0],
        present=figures[1],
        url=url_for("activities.activity", activity_id=activity.id, _external=True),
        ics_url=url_for("activities.calendar_file", activity_id=activity.id, _external=True),
    ).model_dump(mode="json")


def attendance_out(attendance, shared: dict[str, int]) -> AttendanceOut:
    return AttendanceOut(
        id=attendance.id,
        user=UnitRef(id=attendance.user.id, name=attendance.user.name),
        phone=shown_phone(current_user, attendance.user),
        method=attendance.method.value,
        checked_in_at=attendance.checked_in_at,
        checked_out_at=attendance.checked_out_at,
        shared_device=shared.get(attendance.device_id, 1) if attendance.device_id else 1,
        valid=attendance.valid,
        counted=attendance.counted_at is not None,
    )


@endpoint(
    api_bp,
    "/activities",
    "GET",
    summary="近期活动（登录后：可参加的，离居民近的在前）",
    query=Page,
    response=ActivityList,
    auth=False,
    optional_auth=True,
)
def list_activities(query: Page):
    user = current_user if current_user.is_authenticated else None
    paged = paginate(listing.upcoming(user), page=query.page, per_page=query.per_page)
    figures = listing.counts([activity.id for activity in paged.items])
    return ActivityList(
        items=[activity_out(activity, figures[activity.id]) for activity in paged.items],
        total=paged.total,
        page=paged.page,
        per_page=paged.per_page,
    ).model_dump(mode="json")


def _unit(unit_id: int | None, field: str) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise ApiError(422, "validation_error", _("没有这个单位"), {field: [_("没有这个单位")]})
    return unit


@endpoint(
    api_bp,
    "/activities",
    "POST",
    summary="发布活动（单位的管理员或教师，为本单位或下级单位）",
    body=ActivityIn,
    response=ActivityOut,
    status=201,
)
def create_activity(body: ActivityIn):
    if not access.is_organiser(current_user):
        raise Forbidden(_("只有单位的管理员和教师可以组织活动"))
    activity = operations.create_activity(
        current_user,
        operations.ActivityData(
            unit=_unit(body.unit_id, "unit_id"),
            kind=ActivityKind(body.kind).value,
            title=body.title,
            place=body.place,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            hours=body.hours,
            capacity=body.capacity,
            description=body.description,
            needs_registration=body.needs_registration,
            audience_unit=_unit(body.audience_unit_id, "audience_unit_id"),
            needs_check_out=body.needs_check_out,
            min_stay_minutes=body.min_stay_minutes,
        ),
    )
    db.session.commit()
    return activity_out(activity, (0, 0)), 201


@endpoint(
    api_bp,
    "/activities/<int:activity_id>",
    "GET",
    summary="活动详情",
    response=ActivityOut,
    auth=False,
)
def get_activity(activity_id: int):
    activity = access.get_activity_or_404(activity_id)
    return activity_out(activity, listing.counts([activity.id])[activity.id])


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/registration",
    "PUT",
    summary="报名活动（重复报名返回已有报名）",
    response=RegistrationOut,
    status=201,
    responses={200: RegistrationOut},
)
def put_registration(activity_id: int):
    registration, new = operations.register(current_user, access.get_activity_or_404(activity_id))
    db.session.commit()
    out = RegistrationOut(
        activity_id=registration.activity_id, registered_at=registration.registered_at
    ).model_dump(mode="json")
    return out, 201 if new else 200


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/registration",
    "DELETE",
    summary="取消报名",
    status=204,
)
def delete_registration(activity_id: int):
    operations.cancel_registration(current_user, access.get_activity_or_404(activity_id))
    db.session.commit()
    return "", 204


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/check-in",
    "POST",
    summary="签到或签退：居民提交现场二维码的 code，或组织者提交居民的 resident_code",
    body=CheckInIn,
    response=CheckInOut,
    status=201,
    responses={200: CheckInOut},
)
def check_in(activity_id: int, body: CheckInIn):
    if (body.code is None) == (body.resident_code is None):
        message = _("请提供 code（扫现场二维码）或 resident_code（组织者扫居民签到码）之一")
        raise ApiError(422, "validation_error", message, {"code": [message]})
    activity = access.get_activity_or_404(activity_id)
    now = utcnow()
    if body.code is not None:
        if not codes.rotating_code_fresh(activity, body.code, now):
            message = _("签到码无效或已过期，请扫描现场正在显示的二维码")
            raise ApiError(403, "forbidden", message, {"code": [message]})
        resident, by, method = current_user, None, CheckInMethod.SCAN
    else:
        if not access.can_organise(current_user, activity):
            raise Forbidden(_("只有活动组织者可以扫描居民的签到码"))
        user_id = codes.personal_code_user_id(body.resident_code)
        resident = db.session.get(User, user_id) if user_id is not None else None
        if resident is None or not resident.active:
            message = _("这个签到码无效，请让居民重新打开“我的签到码”")
            raise ApiError(422, "validation_error", message, {"resident_code": [message]})
        by, method = current_user, CheckInMethod.PERSONAL
    attendance = operations.attendance_of(resident, activity)
    created = checked_out = False
    if attendance is not None and attendance.valid and activity.needs_check_out:
        checked_out = operations.check_out(activity, attendance, now=now)
    else:
        device = request.cookies.get("lms_device") if method is CheckInMethod.SCAN else None
        attendance, created = operations.check_in(
            activity, resident, method=method, by=by, device_id=device, now=now
        )
    db.session.commit()
    out = CheckInOut(
        created=created,
        checked_out=checked_out,
        attendance=attendance_out(attendance, operations.shared_devices(activity)),
    ).model_dump(mode="json")
    return out, 201 if created else 200


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/attendance",
    "GET",
    summary="签到名单（活动组织者）",
    response=AttendanceList,
)
def get_attendance(activity_id: int):
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    shared = operations.shared_devices(activity)
    items = [attendance_out(item, shared) for item in listing.attendance(activity)]
    return AttendanceList(items=items, total=len(items)).model_dump(mode="json")


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/close",
    "POST",
    summary="结束活动：每位签到者的参与记入学习档案并折算学分（活动组织者）",
    response=CloseOut,
)
def close_activity(activity_id: int):
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    counted = operations.close_activity(activity, by=current_user)
    db.session.commit()
    return CloseOut(counted=len(counted)).model_dump(mode="json")

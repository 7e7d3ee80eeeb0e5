"""The demo county's activities: past ones in several towns with their attendance (scanned,
personal codes and ticked by hand) closed into credits, one happening now (so the rotating code
can be shown on first start), and upcoming ones open for registration. Called by ``lms.demo``
after the residents exist; written through the operations, as a live organiser would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from lms.accounts.models import OrgUnit, Role, RoleGrant, User
from lms.activities import operations
from lms.activities.models import Activity, ActivityKind, CheckInMethod
from lms.activities.registry import demo as registry_demo
from lms.core.time import display_zone, local_date, utcnow
from lms.extensions import db

# (days from today, local start hour, hours long, town, village or None, kind, title, place,
#  学时, capacity, registration, residents attending)
PAST = [
    (
        -40,
        9,
        2,
        "福集镇",
        None,
        "lecture",
        "福集讲堂：老年人防范电信诈骗",
        "福集镇社区学校三楼报告厅",
        "2",
        None,
        False,
        43,
    ),
    (
        -26,
        14,
        3,
        "福集镇",
        "石鸭滩村",
        "community",
        "送课进社区：柑橘春季修剪",
        "石鸭滩村村民活动中心",
        "3",
        40,
        True,
        24,
    ),
    (
        -19,
        9,
        4,
        "玉蟾街道",
        None,
        "week",
        "全民终身学习活动周：开幕式与学习成果展",
        "玉蟾街道文化广场",
        "4",
        None,
        False,
        35,
    ),
    (
        -12,
        19,
        2,
        "喻寺镇",
        "周堰村",
        "reading",
        "读书月：周堰村夜读会",
        "周堰村农家书屋",
        "2",
        30,
        False,
        18,
    ),
    (
        -5,
        9,
        6,
        "嘉明镇",
        None,
        "training",
        "智能手机使用培训（第一期）",
        "嘉明镇社区学校多功能厅",
        "6",
        50,
        True,
        27,
    ),
]
UPCOMING = [
    (
        0,
        None,
        2,
        "福集镇",
        None,
        "lecture",
        "福集讲堂：夏季健康养生",
        "福集镇社区学校三楼报告厅",
        "2",
        80,
        False,
    ),
    (
        2,
        9,
        2,
        "福集镇",
        "大田社区",
        "community",
        "送课进社区：家庭急救常识",
        "大田社区党群服务中心",
        "2",
        40,
        True,
    ),
    (
        4,
        14,
        3,
        "喻寺镇",
        None,
        "training",
        "电商直播入门培训",
        "喻寺镇社区学校电脑室",
        "3",
        30,
        True,
    ),
    (
        6,
        9,
        3,
        "玉蟾街道",
        None,
        "reading",
        "读书月：亲子共读分享会",
        "玉蟾街道图书馆二楼",
        "1.5",
        60,
        True,
    ),
    (
        9,
        19,
        2,
        "嘉明镇",
        None,
        "lecture",
        "嘉明讲堂：农村法律常识",
        "嘉明镇文化站",
        "2",
        None,
        False,
    ),
]


def _unit(name: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).filter_by(name=name))


def _organiser(town: OrgUnit) -> User:
    """The town's administrator if it has one, else the county's."""
    for unit in (town, town.parent):
        user = db.session.scalar(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == Role.ADMIN, RoleGrant.org_unit_id == unit.id)
            .limit(1)
        )
        if user is not None:
            return user
    raise LookupError(f"no administrator for {town.name}")


def _residents(scope: OrgUnit, count: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(OrgUnit, User.org_unit_id == OrgUnit.id)
            .where(
                OrgUnit.path.startswith(scope.path),
                ~User.grants.any(RoleGrant.role.in_((Role.ADMIN, Role.TEACHER, Role.REGISTRAR))),
            )
            .order_by(User.id)
            .limit(count)
        )
    )


def _at(days: int, hour: int) -> datetime:
    day = local_date(utcnow()) + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=display_zone())


def _data(town, village, kind, title, place, hours, capacity, registration, start, length):
    return operations.ActivityData(
        unit=village or town,
        kind=kind,
        title=title,
        place=place,
        starts_at=start,
        ends_at=start + timedelta(hours=length),
        hours=Decimal(hours),
        capacity=capacity,
        needs_registration=registration,
        audience_unit=village,
        description="演示活动（示例数据）。",
    )


def load_activities(echo: Callable[[str], None] = print) -> int:
    """Load the demo activities; returns how many attendances became credits."""
    lecturers, volunteers = registry_demo.load_registry()  # their hours come with the closes
    counted = 0
    for (
        days,
        hour,
        length,
        town_name,
        village_name,
        kind,
        title,
        place,
        hours,
        capacity,
        needs,
        n,
    ) in PAST:
        town = _unit(town_name)
        village = _unit(village_name) if village_name else None
        organiser = _organiser(town)
        start = _at(days, hour)
        # A past activity is recorded as it happened: created (a week before), then the
        # check-ins at their times, then closed after its end.
        activity = Activity(
            **_fields(
                _data(town, village, kind, title, place, hours, capacity, needs, start, length)
            ),
            created_by_id=organiser.id,
            created_at=start - timedelta(days=7),
        )
        db.session.add(activity)
        db.session.flush()
        people = _residents(village or town, n)
        for index, person in enumerate(people):
            moment = start + timedelta(minutes=index % 20 - 10)
            if index % 10 == 9:  # the elderly without phones: ticked by the organiser
                method, by = CheckInMethod.HAND, organiser
            elif index % 10 == 8:
                method, by = CheckInMethod.PERSONAL, organiser
            else:
                method, by = CheckInMethod.SCAN, None
            operations.check_in(
                activity,
                person,
                method=method,
                by=by,
                now=moment,
                device_id=f"demo{person.id:028d}" if method is CheckInMethod.SCAN else None,
            )
        registry_demo.staff_activity(activity, organiser)
        counted += len(operations.close_activity(activity, by=organiser, now=activity.ends_at))
    wang_fang = db.session.scalar(select(User).filter_by(phone="13700000001"))
    for (
        days,
        hour,
        length,
        town_name,
        village_name,
        kind,
        title,
        place,
        hours,
        capacity,
        needs,
    ) in UPCOMING:
        town = _unit(town_name)
        village = _unit(village_name) if village_name else None
        start = _at(days, hour) if hour is not None else utcnow() - timedelta(minutes=10)
        activity = operations.create_activity(
            _organiser(town),
            _data(town, village, kind, title, place, hours, capacity, needs, start, length),
        )
        registry_demo.staff_activity(activity, _organiser(town))
        if needs:
            for person in _residents(village or town, 6):
                operations.register(person, activity)
            if wang_fang is not None and (village is None or village.contains(wang_fang.org_unit)):
                operations.register(wang_fang, activity)
    db.session.commit()
    echo(
        f"演示活动已载入：{len(PAST)} 场已结束（{counted} 人次签到记入学分）、{len(UPCOMING)} 场近期活动。"
    )
    echo(f"讲师团 {lecturers} 位、志愿者（含申请）{volunteers} 位已载入。")
    return counted


def _fields(data: operations.ActivityData) -> dict:
    return {
        "unit_id": data.unit.id,
        "kind": ActivityKind(data.kind),
        "title": data.title,
        "description": data.description,
        "place": data.place,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "capacity": data.capacity,
        "hours": data.hours,
        "needs_registration": data.needs_registration,
        "audience_unit_id": data.audience_unit.id if data.audience_unit else None,
    }

"""Reports for organisers: the attendance list of one activity, activities and attendance of a
unit's subtree by month and by unit below it, the service hours of lecturers and volunteers, and
送课进社区 as the county reports it (which teacher taught where, how many residents came).

Each report is a list of rows with its headers, read for one unit (the viewer keeps it: asked
by the caller through ``registry.access``) and one year of local time; the same rows make the
page, the .xlsx/.csv download and the API's answer. Activities are few beside learning records,
so these are read directly (participation, which counts attending too, is the rollups' job).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from lms.accounts.access import shown_phone
from lms.accounts.models import OrgUnit, User
from lms.activities.models import Activity, ActivityStatus, Attendance
from lms.activities.registry.models import ActivityLecturer, ActivityVolunteer, Lecturer, Volunteer
from lms.core.time import display_zone, format_local, local
from lms.extensions import db


@dataclass
class Table:
    """One report: its *headers* and *rows* (cells as they go into a spreadsheet)."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[object]] = field(default_factory=list)


def year_window(year: int) -> tuple[datetime, datetime]:
    zone = display_zone()
    start = datetime.combine(datetime(year, 1, 1).date(), time(0), tzinfo=zone)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time(0), tzinfo=zone)
    return start, end


def _in_subtree(unit: OrgUnit):
    return OrgUnit.path.startswith(unit.path, autoescape=True)


def _held(unit: OrgUnit, year: int):
    """The activities of *unit*'s subtree starting in *year* (local time), not cancelled."""
    start, end = year_window(year)
    return (
        select(Activity)
        .join(OrgUnit, OrgUnit.id == Activity.unit_id)
        .where(
            _in_subtree(unit),
            Activity.starts_at >= start,
            Activity.starts_at < end,
            Activity.status != ActivityStatus.CANCELLED,
        )
    )


def _hours(value) -> float:
    return float(Decimal(value or 0).quantize(Decimal("0.1")))


# One activity's attendance --------------------------------------------------------------------


def attendance_list(viewer: User, activity: Activity) -> Table:
    """Everyone recorded at *activity*, in check-in order; phone numbers as law 8 lets *viewer*
    see them; corrected rows stay, marked void with the reason."""
    table = Table(
        "attendance",
        _("签到名单"),
        [
            _("序号"),
            _("姓名"),
            _("手机号"),
            _("所在单位"),
            _("签到方式"),
            _("签到时间"),
            _("签退时间"),
            _("学时"),
            _("状态"),
        ],
    )
    rows = db.session.scalars(
        select(Attendance)
        .filter_by(activity_id=activity.id)
        .order_by(Attendance.checked_in_at, Attendance.id)
    ).all()
    for number, row in enumerate(rows, start=1):
        status = _("已作废：%(reason)s", reason=row.void_reason) if row.voided_at else _("有效")
        table.rows.append(
            [
                number,
                row.user.name,
                shown_phone(viewer, row.user),
                row.user.org_unit.full_name,
                row.method.label,
                format_local(row.checked_in_at),
                format_local(row.checked_out_at),
                0.0 if row.voided_at else _hours(activity.hours),
                status,
            ]
        )
    return table


# Activities and attendance by month and by unit ----------------------------------------------


@dataclass
class Tally:
    activities: int = 0
    attendances: int = 0
    residents: set[int] = field(default_factory=set)
    hours: Decimal = Decimal(0)

    def row(self, label: str) -> list[object]:
        return [label, self.activities, self.attendances, len(self.residents), _hours(self.hours)]


def _figures(unit: OrgUnit, year: int) -> tuple[dict[int, Tally], dict[int, Tally]]:
    """Tallies of *unit*'s subtree in *year*, by local month and by the child unit (or *unit*
    itself, key its id) the organising unit lies in."""
    held = db.session.execute(
        _held(unit, year).with_only_columns(
            Activity.id, Activity.starts_at, Activity.hours, OrgUnit.path
        )
    ).all()
    children = {child.path: child.id for child in unit.children}
    by_month: dict[int, Tally] = defaultdict(Tally)
    by_unit: dict[int, Tally] = defaultdict(Tally)
    where: dict[int, tuple[int, int, Decimal]] = {}
    for activity_id, starts_at, hours, path in held:
        month = local(starts_at).month
        child = next((key for prefix, key in children.items() if path.startswith(prefix)), unit.id)
        where[activity_id] = (month, child, Decimal(hours))
        by_month[month].activities += 1
        by_unit[child].activities += 1
    if where:
        attended = db.session.execute(
            select(Attendance.activity_id, Attendance.user_id).where(
                Attendance.activity_id.in_(list(where)), Attendance.voided_at.is_(None)
            )
        )
        for activity_id, user_id in attended:
            month, child, hours = where[activity_id]
            for tally in (by_month[month], by_unit[child]):
                tally.attendances += 1
                tally.residents.add(user_id)
                tally.hours += hours
    return by_month, by_unit


def _TALLY_HEADERS(first):
    return [first, _("活动场次"), _("签到人次"), _("参加人数"), _("学时合计")]


def monthly(unit: OrgUnit, year: int) -> Table:
    """Activities and attendance of *unit*'s subtree, month by month, with the year's total."""
    by_month, _by_unit = _figures(unit, year)
    table = Table("months", _("按月统计"), _TALLY_HEADERS(_("月份")))
    total = Tally()
    for month in range(1, 13):
        tally = by_month.get(month, Tally())
        table.rows.append(tally.row(_("%(year)s年%(month)s月", year=year, month=month)))
        total.activities += tally.activities
        total.attendances += tally.attendances
        total.residents |= tally.residents
        total.hours += tally.hours
    table.rows.append(total.row(_("全年")))
    return table


def by_unit(unit: OrgUnit, year: int) -> Table:
    """The same per unit below *unit* (and *unit*'s own activities as 本级)."""
    _by_month, tallies = _figures(unit, year)
    table = Table("units", _("按单位统计"), _TALLY_HEADERS(_("单位")))
    table.rows.append(tallies.get(unit.id, Tally()).row(_("%(name)s（本级）", name=unit.name)))
    for child in unit.children:
        table.rows.append(tallies.get(child.id, Tally()).row(child.name))
    return table


# Service hours ---------------------------------------------------------------------------------


def service_hours(unit: OrgUnit, year: int) -> Table:
    """Each lecturer and volunteer of *unit*'s subtree who served in *year*: times and hours
    recorded (at the close of activities that started in the year)."""
    table = Table(
        "service",
        _("讲师和志愿者服务时长"),
        [_("身份"), _("姓名"), _("所属单位"), _("服务次数"), _("服务时长（小时）")],
    )
    start, end = year_window(year)
    for label, person, assignment, key in (
        (_("讲师"), Lecturer, ActivityLecturer, ActivityLecturer.lecturer_id),
        (_("志愿者"), Volunteer, ActivityVolunteer, ActivityVolunteer.volunteer_id),
    ):
        rows = db.session.execute(
            select(person, func.count(assignment.id), func.sum(assignment.served_hours))
            .join(assignment, key == person.id)
            .join(Activity, Activity.id == assignment.activity_id)
            .join(OrgUnit, OrgUnit.id == person.org_unit_id)
            .where(
                _in_subtree(unit),
                assignment.recorded_at.is_not(None),
                Activity.starts_at >= start,
                Activity.starts_at < end,
            )
            .group_by(person.id)
            .order_by(func.sum(assignment.served_hours).desc(), person.name, person.id)
        ).all()
        for entry, times, hours in rows:
            table.rows.append([label, entry.name, entry.org_unit.full_name, times, _hours(hours)])
    return table


def community_deliveries(unit: OrgUnit, year: int) -> Table:
    """送课进社区 as the county reports it: each closed 送课进社区 activity of *unit*'s subtree
    in *year*, with the teacher who taught, where (the receiving unit and the place), what,
    how many residents came and the hours taught."""
    from lms.activities.models import ActivityKind

    table = Table(
        "deliveries",
        _("送课进社区"),
        [
            _("日期"),
            _("活动"),
            _("授课教师"),
            _("教师所属单位"),
            _("送课地点"),
            _("具体地点"),
            _("授课内容"),
            _("到场居民"),
            _("授课时长（小时）"),
        ],
    )
    rows = db.session.execute(
        _held(unit, year)
        .where(Activity.kind == ActivityKind.COMMUNITY)
        .add_columns(ActivityLecturer)
        .join(ActivityLecturer, ActivityLecturer.activity_id == Activity.id)
        .where(ActivityLecturer.recorded_at.is_not(None))
        .order_by(Activity.starts_at, Activity.id, ActivityLecturer.id)
    ).all()
    for activity, taught in rows:
        table.rows.append(
            [
                format_local(activity.starts_at, "%Y-%m-%d"),
                activity.title,
                taught.lecturer.name,
                taught.lecturer.org_unit.full_name,
                activity.unit.full_name,
                activity.place,
                taught.topic,
                taught.residents_came or 0,
                _hours(taught.served_hours),
            ]
        )
    return table


REPORTS = {
    "months": monthly,
    "units": by_unit,
    "service": service_hours,
    "deliveries": community_deliveries,
}

"""Organisers' activity reports (:mod:`lms.activities.reports`): activities and attendance of a
unit's subtree by month and by unit, lecturer and volunteer hours, 送课进社区, and each
activity's attendance list, as pages and as .xlsx/.csv downloads. Staff see the units they keep.
They live here, beside the other tables out, because admin's ``exports`` makes the files."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from lms.accounts.models import OrgUnit, User
from lms.activities import reports
from lms.activities.models import Activity
from lms.activities.registry import access
from lms.admin import bp, exports
from lms.core.models import MAX_ID
from lms.core.time import local_date, utcnow
from lms.core.web import int_arg
from lms.extensions import db


def home_unit(user: User) -> OrgUnit:
    """The highest unit *user* keeps (their reports' first page); 403 for anyone else."""
    scopes = access.require_staff(user)
    return sorted(scopes, key=lambda unit: (unit.path.count("/"), unit.code))[0]


def unit_and_year(user: User, unit_id: int | None, year: int | None) -> tuple[OrgUnit, int]:
    """The unit asked for (404 outside the viewer's units; none: their own) and the year
    (this one unless a sensible one was asked for)."""
    unit = home_unit(user) if unit_id is None else access.get_unit_in_scope_or_404(user, unit_id)
    if year is None or not 2000 <= year <= 2100:
        year = local_date(utcnow()).year
    return unit, year


@bp.get("/admin/activity-reports")
@login_required
def activity_reports():
    unit, year = unit_and_year(current_user, int_arg("unit"), int_arg("year"))
    return render_template(
        "activities/reports/reports.html",
        unit=unit,
        year=year,
        years=range(local_date(utcnow()).year + 1, 2019, -1),
        tables=[build(unit, year) for build in reports.REPORTS.values()],
    )


@bp.get("/admin/activity-reports/<name>.<fmt>")
@login_required
def activity_report_download(name: str, fmt: str):
    unit, year = unit_and_year(current_user, int_arg("unit"), int_arg("year"))
    build = reports.REPORTS.get(name)
    if build is None:
        abort(404)
    table = build(unit, year)
    return exports.download(table.headers, table.rows, f"{unit.name}{year}年{table.title}", fmt)


@bp.get("/admin/activities/<int:activity_id>/attendance.<fmt>")
@login_required
def activity_attendance_download(activity_id: int, fmt: str):
    activity = db.session.get(Activity, activity_id) if 0 < activity_id <= MAX_ID else None
    if activity is None or not access.can_keep(current_user, activity.unit):
        abort(404)
    table = reports.attendance_list(current_user, activity)
    return exports.download(table.headers, table.rows, f"签到名单-{activity.title[:60]}", fmt)

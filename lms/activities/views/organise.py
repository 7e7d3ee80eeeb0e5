"""The organisers' pages: their activities, creating and editing one, the projected rotating
code, the attendance list (ticking by hand, the devices that checked in several people,
corrections) and closing."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.accounts.access import within
from lms.accounts.models import OrgUnit, User
from lms.activities import access, bp, codes, listing, operations
from lms.activities.forms import ActivityForm, ReasonForm
from lms.activities.models import ActivityStatus
from lms.activities.views.check_in import qr_svg
from lms.core.errors import Forbidden
from lms.core.forms import EmptyForm, attempt, render_form, require_form_token
from lms.core.models import MAX_ID
from lms.core.paging import paginate
from lms.core.text import has_control_characters
from lms.core.time import utcnow
from lms.core.web import int_arg
from lms.extensions import db


def _require_organiser() -> None:
    if not access.is_organiser(current_user):
        raise Forbidden(_("只有单位的管理员和教师可以组织活动"))


def _units() -> list[OrgUnit]:
    scopes = access.organiser_scopes(current_user)
    return list(
        db.session.scalars(
            select(OrgUnit).where(within(scopes, OrgUnit.path)).order_by(OrgUnit.path)
        )
    )


def _data(form: ActivityForm, units: list[OrgUnit]) -> operations.ActivityData:
    by_id = {unit.id: unit for unit in units}
    return operations.ActivityData(
        unit=by_id.get(form.unit.data),
        kind=form.kind.data,
        title=form.title.data,
        place=form.place.data,
        starts_at=form.local_to_utc(form.starts_at.data),
        ends_at=form.local_to_utc(form.ends_at.data),
        hours=form.hours.data,
        capacity=form.capacity.data,
        description=form.description.data or "",
        needs_registration=form.needs_registration.data,
        audience_unit=by_id.get(form.audience.data) if form.audience.data else None,
        needs_check_out=form.needs_check_out.data,
        min_stay_minutes=form.min_stay_minutes.data,
    )


RENAME = {"audience_unit": "audience"}


@bp.get("/activities/organised")
@login_required
def organised():
    _require_organiser()
    paged = paginate(
        listing.organised(current_user), page=min(int_arg("page", 1), 10_000), per_page=20
    )
    figures = listing.counts([activity.id for activity in paged.items])
    return render_template("activities/organised.html", paged=paged, figures=figures)


@bp.route("/activities/new", methods=["GET", "POST"])
@login_required
def new_activity():
    _require_organiser()
    units = _units()
    form = ActivityForm(units)
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("活动已发布"), rename=RENAME) as result:
            activity = operations.create_activity(current_user, _data(form, units))
        if result.ok:
            return redirect(url_for("activities.manage", activity_id=activity.id))
        status = result.error.status
    return render_form("activities/form.html", form, status=status, activity=None)


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def edit_activity(activity_id: int):
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    units = _units()
    form = ActivityForm(units)
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("活动已保存"), rename=RENAME) as result:
            operations.update_activity(current_user, activity, _data(form, units))
        if result.ok:
            return redirect(url_for("activities.manage", activity_id=activity.id))
        status = result.error.status
    elif not form.is_submitted():
        form.fill(activity)
    return render_form("activities/form.html", form, status=status, activity=activity)


@bp.post("/activities/<int:activity_id>/cancel")
@login_required
def cancel_activity(activity_id: int):
    require_form_token()
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    with attempt(done=_("活动已取消，已通知报名的居民")) as result:
        operations.cancel_activity(current_user, activity)
    return _back(activity, result)


@bp.get("/activities/<int:activity_id>/manage")
@login_required
def manage(activity_id: int):
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    return manage_page(activity)


def manage_page(activity, *, reason_form: ReasonForm | None = None):
    q = (request.args.get("q") or "").strip()[:40]
    if has_control_characters(q):  # never reaches a query (PostgreSQL refuses a NUL)
        q = ""
    attendances = listing.attendance(activity)
    now = utcnow()
    correctable = activity.status is ActivityStatus.OPEN or (
        activity.status is ActivityStatus.CLOSED
        and now <= activity.closed_at + operations.correction_window()
    )
    return render_template(
        "activities/manage.html",
        activity=activity,
        attendances=attendances,
        shared=operations.shared_devices(activity),
        waiting=listing.registered_not_present(activity) if activity.needs_registration else [],
        q=q,
        found=listing.candidates(activity, q) if q else [],
        open_now=operations.check_in_open(activity, now),
        correctable=correctable,
        reason_form=reason_form or ReasonForm(),
        button=EmptyForm(),
    )


def _back(activity, result):
    if result.ok:
        return redirect(url_for("activities.manage", activity_id=activity.id))
    return manage_page(activity), result.error.status


@bp.get("/activities/<int:activity_id>/code")
@login_required
def show_code(activity_id: int):
    """The rotating code, for a phone held up or a projector (refreshed by static/js)."""
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    now = utcnow()
    return render_template(
        "activities/code.html",
        activity=activity,
        open_now=operations.check_in_open(activity, now),
        seconds_left=codes.seconds_left(now),
        step_seconds=codes.STEP_SECONDS,
    )


@bp.get("/activities/<int:activity_id>/code.svg")
@login_required
def code_image(activity_id: int):
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    now = utcnow()
    if not operations.check_in_open(activity, now):
        abort(404)
    url = url_for(
        "activities.scan",
        activity_id=activity.id,
        code=codes.rotating_code(activity, now),
        _external=True,
    )
    svg = str(qr_svg(url, scale=8)).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _resident(user_id: int | None) -> User:
    user = db.session.get(User, user_id) if user_id and 0 < user_id <= MAX_ID else None
    if user is None:
        abort(404)
    return user


@bp.post("/activities/<int:activity_id>/attendance")
@login_required
def tick(activity_id: int):
    """人工勾选: the organiser records a resident without a phone (after closing: a correction
    with a reason)."""
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    form = ReasonForm()
    if not form.validate_on_submit() and activity.status is ActivityStatus.CLOSED:
        return manage_page(activity, reason_form=form), 422
    require_form_token()
    resident = _resident(request.form.get("user_id", type=int))
    with attempt(done=_("已为 %(name)s 签到（人工勾选）", name=resident.name)) as result:
        operations.add_attendance(current_user, activity, resident, reason=form.reason.data)
    return _back(activity, result)


@bp.post("/activities/<int:activity_id>/attendance/<int:attendance_id>/void")
@login_required
def void(activity_id: int, attendance_id: int):
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    attendance = access.get_attendance_or_404(activity, attendance_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return manage_page(activity, reason_form=form), 422
    with attempt(done=_("已撤销这条签到")) as result:
        operations.void_attendance(current_user, attendance, reason=form.reason.data)
    return _back(activity, result)


@bp.post("/activities/<int:activity_id>/close")
@login_required
def close(activity_id: int):
    require_form_token()
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    with attempt() as result:
        counted = operations.close_activity(activity, by=current_user)
    if result.ok:
        flash(_("活动已结束，%(n)s 人的参与已记入学习档案", n=len(counted)), "success")
    return _back(activity, result)

"""The residents' pages: upcoming activities, an activity's public page, registering, the
calendar file, and the section on the home page."""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from lms.activities import access, bp, listing, operations
from lms.activities.calendar import ics
from lms.activities.models import ActivityStatus
from lms.core.forms import attempt, require_form_token
from lms.core.paging import paginate
from lms.core.time import utcnow
from lms.core.web import int_arg
from lms.extensions import db


@bp.get("/activities")
def index():
    user = current_user if current_user.is_authenticated else None
    paged = paginate(
        listing.upcoming(user),
        page=min(int_arg("page", 1), 10_000),
        per_page=current_app.config["LMS_PAGE_SIZE"],
    )
    figures = listing.counts([activity.id for activity in paged.items])
    organiser = user is not None and access.is_organiser(user)
    return render_template(
        "activities/index.html", paged=paged, figures=figures, organiser=organiser
    )


@bp.get("/activities/<int:activity_id>")
def activity(activity_id: int):
    return activity_page(access.get_activity_or_404(activity_id))


def activity_page(activity):
    user = current_user if current_user.is_authenticated else None
    registration = attendance = None
    if user is not None:
        registration = operations.registration_of(user, activity)
        attendance = operations.attendance_of(user, activity)
    registered, present = listing.counts([activity.id])[activity.id]
    return render_template(
        "activities/activity.html",
        activity=activity,
        registration=registration if registration and registration.active else None,
        attendance=attendance,
        registered=registered,
        present=present,
        may_attend=user is None or access.may_attend(user, activity),
        organiser=user is not None and access.can_organise(user, activity),
        upcoming=activity.status is ActivityStatus.OPEN and activity.ends_at > utcnow(),
    )


@bp.get("/activities/<int:activity_id>.ics")
def calendar_file(activity_id: int):
    activity = access.get_activity_or_404(activity_id)
    url = url_for("activities.activity", activity_id=activity.id, _external=True)
    body = ics(activity, url=url, host=request.host.split(":")[0] or "localhost", now=utcnow())
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="activity-{activity.id}.ics"',
            "Cache-Control": "no-cache",
        },
    )


@bp.post("/activities/<int:activity_id>/registration")
@login_required
def register(activity_id: int):
    require_form_token()
    activity = access.get_activity_or_404(activity_id)
    with attempt(done=_("报名成功，活动前一天会提醒您")) as result:
        operations.register(current_user, activity)
    return _back(activity, result)


@bp.post("/activities/<int:activity_id>/registration/cancel")
@login_required
def cancel_registration(activity_id: int):
    require_form_token()
    activity = access.get_activity_or_404(activity_id)
    with attempt(done=_("已取消报名")) as result:
        operations.cancel_registration(current_user, activity)
    return _back(activity, result)


def _back(activity, result):
    """After a button: to the activity's page; a refusal shows it at once with its status
    (the message flashed above it), so nothing looks done that was not."""
    if result.ok:
        return redirect(url_for("activities.activity", activity_id=activity.id))
    return activity_page(activity), result.error.status


def home_section() -> Markup:
    """The upcoming activities near the visitor, for the home page (courses' template asks for
    ``home_sections()``; nothing here is a course's business)."""
    user = current_user if current_user.is_authenticated else None
    items = db.session.scalars(listing.upcoming(user).limit(4)).all()
    if not items:
        return Markup("")
    # A template rendered with autoescaping: its output is markup already.
    return Markup(render_template("activities/_home.html", activities=items))  # noqa: S704  # nosec B704


@bp.app_template_global()
def check_in_margin_minutes() -> int:
    return int(operations.check_in_margin().total_seconds() // 60)


@bp.app_template_global()
def home_sections() -> list[Markup]:
    return [home_section()]

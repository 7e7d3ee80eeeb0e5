"""Check-in: the page a scanned rotating code opens (the arrival is noted in the session, so a
resident who must first sign in still checks in — within a few minutes — while a code forwarded
later fails at once), 我的签到码, and the organiser's scan of a resident's personal code."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import segno
from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from lms.accounts.access import shown_phone
from lms.accounts.models import User
from lms.activities import access, bp, codes, listing, operations
from lms.activities.models import ActivityStatus, CheckInMethod
from lms.core.errors import Conflict, Forbidden, OperationError
from lms.core.forms import require_form_token
from lms.core.time import utcnow
from lms.core.web import error_page
from lms.extensions import db

ARRIVAL = "activity_arrival"
SCANNING = "scanning_activity"
DEVICE_COOKIE = "lms_device"
DEVICE_COOKIE_AGE = 400 * 24 * 3600


def qr_svg(data: str, *, scale: int = 4) -> Markup:
    """A QR code as inline SVG that scales with its box (CSS sets its width)."""
    svg = segno.make_qr(data, error="m").svg_inline(scale=scale, border=4, omitsize=True)
    # segno's own SVG: paths of the matrix, no text from the data (the URL is only encoded).
    # An image needs a name (axe: svg-img-alt); the code is for the camera, the page says what.
    named = f'class="qr" role="img" aria-label="{Markup.escape(_("二维码"))}"'
    return Markup(svg.replace('class="segno"', named, 1))  # noqa: S704  # nosec B704


def arrival_grace() -> timedelta:
    return timedelta(seconds=current_app.config["LMS_ACTIVITY_ARRIVAL_GRACE_SECONDS"])


def _device_id() -> str | None:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if len(value) == 32 and value.isalnum() else None


def _keep_device(response):
    if _device_id() is None:
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_hex(16),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


# The rotating code ------------------------------------------------------------------------


@bp.get("/activities/<int:activity_id>/scan/<code>")
def scan(activity_id: int, code: str):
    """Where the projected QR code leads. The code must be fresh now; the arrival is kept in
    the session for the check-in that follows (after signing in, if need be)."""
    activity = access.get_activity_or_404(activity_id)
    now = utcnow()
    if not codes.rotating_code_fresh(activity, code[:64], now):
        return error_page(
            403,
            _("签到码无效或已过期。请在活动现场扫描屏幕上正在显示的二维码（每 15 秒更换一次）。"),
        )
    operations.check_window(activity, now)  # before the window, after it: a 409 with the times
    session[ARRIVAL] = {"activity": activity.id, "at": now.timestamp()}
    target = url_for("activities.confirm_check_in", activity_id=activity.id)
    if not current_user.is_authenticated:
        target = url_for("accounts.sign_in", next=target)
    return _keep_device(redirect(target))


def _arrival_at(activity) -> datetime | None:
    """When this browser scanned a fresh code of *activity*, if recently enough."""
    arrival = session.get(ARRIVAL)
    if not isinstance(arrival, dict) or arrival.get("activity") != activity.id:
        return None
    try:
        at = datetime.fromtimestamp(float(arrival.get("at")), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return at if timedelta(0) <= utcnow() - at <= arrival_grace() else None


def _require_arrival(activity) -> None:
    if _arrival_at(activity) is None:
        raise Forbidden(
            _(
                "请在活动现场扫描屏幕上的签到二维码（扫码后 %(n)s 分钟内完成签到）。",
                n=int(arrival_grace().total_seconds() // 60),
            )
        )


@bp.get("/activities/<int:activity_id>/check-in")
@login_required
def confirm_check_in(activity_id: int):
    activity = access.get_activity_or_404(activity_id)
    _require_arrival(activity)
    attendance = operations.attendance_of(current_user, activity)
    return render_template(
        "activities/check_in.html", activity=activity, attendance=attendance, done=False
    )


@bp.post("/activities/<int:activity_id>/check-in")
@login_required
def check_in(activity_id: int):
    require_form_token()
    activity = access.get_activity_or_404(activity_id)
    _require_arrival(activity)
    attendance = operations.attendance_of(current_user, activity)
    checked_out = False
    if attendance is not None and activity.needs_check_out and attendance.valid:
        checked_out = operations.check_out(activity, attendance)
        message = _("签退成功") if checked_out else _("您已经签退过了")
    else:
        attendance, new = operations.check_in(
            activity, current_user, method=CheckInMethod.SCAN, device_id=_device_id()
        )
        message = _("签到成功") if new else _("您已经签到过了，不用重复签到")
    db.session.commit()
    session.pop(ARRIVAL, None)
    response = render_template(
        "activities/check_in.html",
        activity=activity,
        attendance=attendance,
        done=True,
        message=message,
    )
    return _keep_device(current_app.make_response(response))


# 我的签到码 and the organiser's scan of it ------------------------------------------------


def personal_url(user: User) -> str:
    return url_for("activities.personal", code=codes.personal_code(user.id), _external=True)


@bp.app_template_global()
def personal_code_svg(user: User) -> Markup:
    """The resident's personal check-in code (printed on the sign-in slip, 代注册)."""
    return qr_svg(personal_url(user), scale=3)


@bp.get("/me/check-in-code")
@login_required
def my_code():
    return render_template(
        "activities/my_code.html", qr=qr_svg(personal_url(current_user), scale=6)
    )


def _resident_of(code: str) -> User:
    user_id = codes.personal_code_user_id(code[:64])
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise OperationError(_("这个签到码无效，请让居民重新打开“我的签到码”"), status=400)
    return user


def _scanning_choices(resident: User):
    """The organiser's activities open now, the one they are scanning for first."""
    running = [a for a in listing.running_now(current_user) if access.may_attend(resident, a)]
    chosen = session.get(SCANNING)
    running.sort(key=lambda activity: activity.id != chosen)
    return running


@bp.get("/p/<code>")
@login_required
def personal(code: str):
    resident = _resident_of(code)
    if resident.id == current_user.id:
        return redirect(url_for("activities.my_code"))
    if not access.is_organiser(current_user):
        raise Forbidden(_("这是居民的签到码，只有活动组织者扫描才能签到"))
    return render_template(
        "activities/personal.html",
        resident=resident,
        phone=shown_phone(current_user, resident),
        code=code,
        choices=_scanning_choices(resident),
        chosen=session.get(SCANNING),
    )


@bp.post("/p/<code>")
@login_required
def personal_check_in(code: str):
    require_form_token()
    resident = _resident_of(code)
    activity_id = request.form.get("activity_id", type=int) or 0
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    attendance = operations.attendance_of(resident, activity)
    if attendance is not None and activity.needs_check_out and attendance.valid:
        if not operations.check_out(activity, attendance):
            raise Conflict(_("%(name)s 已经签退过了", name=resident.name))
        message = _("%(name)s 签退成功", name=resident.name)
    else:
        _attendance, new = operations.check_in(
            activity, resident, method=CheckInMethod.PERSONAL, by=current_user
        )
        message = (
            _("%(name)s 签到成功", name=resident.name)
            if new
            else _("%(name)s 已经签到过了", name=resident.name)
        )
    db.session.commit()
    session[SCANNING] = activity.id
    return render_template(
        "activities/personal_done.html", activity=activity, resident=resident, message=message
    )


@bp.post("/activities/<int:activity_id>/scanning")
@login_required
def start_scanning(activity_id: int):
    """The organiser is about to scan residents' codes for this activity."""
    require_form_token()
    activity = access.get_activity_or_404(activity_id, user=current_user, to_organise=True)
    if activity.status is not ActivityStatus.OPEN:
        raise Conflict(_("该活动已经结束"))
    session[SCANNING] = activity.id
    return render_template("activities/scanning.html", activity=activity)

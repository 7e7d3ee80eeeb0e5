"""长辈模式 (elderly mode): larger type (20–30 px), 60 px tap targets, higher contrast, simpler
pages. One tap from every page (the header's button) and remembered: in a cookie on the phone,
and on the account while signed in (``User.elderly_text_px``).

The button is a small form. With JavaScript (static/js/elderly.js) it submits nothing: the page
switches by a class on <html>, the cookie is set and the choice is posted in the background, so
a half-filled form on the page keeps what was typed. Without JavaScript the form posts here and
comes back to the same page."""

from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, request
from flask_login import current_user
from wtforms import HiddenField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from lms.accounts import bp, operations
from lms.accounts.views import _safe_next as safe_next
from lms.core.forms import Form, attempt

COOKIE = "lms_elderly"
SIZES = (20, 22, 24, 26, 28, 30)  # main text in px; html.text-<n> in static/css/elderly.css
DEFAULT_PX = 22
OFF = 0
ONE_YEAR = 365 * 24 * 3600


def parse_text_px(value) -> int | None:
    """A stored or posted choice: 0 for off, one of SIZES for on, None when it means nothing."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == OFF or number in SIZES else None


def chosen_text_px() -> int:
    """The mode of this request: the phone's cookie (its latest choice) when it has one, else
    the account's; 0 when off."""
    from_cookie = parse_text_px(request.cookies.get(COOKIE))
    if from_cookie is not None:
        return from_cookie
    if current_user.is_authenticated and current_user.elderly_text_px:
        return parse_text_px(current_user.elderly_text_px) or OFF
    return OFF


ACTIONS = ("on", "off", "bigger", "smaller")


def next_text_px(current: int, action: str) -> int:
    """What a tap on one of the header's buttons (*action* of ACTIONS) makes of *current*."""
    if action == "on":
        return current or DEFAULT_PX
    if action == "off":
        return OFF
    if not current:  # bigger or smaller while off: on at the default size
        return DEFAULT_PX
    index = SIZES.index(current) + (1 if action == "bigger" else -1)
    return SIZES[min(max(index, 0), len(SIZES) - 1)]


class ElderlyForm(Form):
    mode = SelectField(choices=[SelectChoice(action, action) for action in ACTIONS])
    # elderly.js says the size it switched to: its cookie has already changed, so the action
    # applied again here would step twice
    text_px = IntegerField(validators=[Optional()])
    next = HiddenField()


@bp.app_context_processor
def _elderly_mode():
    text_px = chosen_text_px() if request else OFF
    return {"elderly": {"on": bool(text_px), "text_px": text_px or DEFAULT_PX, "sizes": SIZES}}


@bp.post("/preferences/elderly")
def set_elderly():
    """Switch 长辈模式 on or off, or make its text bigger or smaller. A form post comes back to
    the page it came from (303); a background post from elderly.js gets the new size as JSON."""
    form = ElderlyForm()
    if not form.validate_on_submit():
        abort(400)
    if form.text_px.data is None:
        text_px = next_text_px(chosen_text_px(), form.mode.data)
    else:
        text_px = parse_text_px(form.text_px.data)
        if text_px is None:
            abort(400)
    if current_user.is_authenticated:
        with attempt() as result:
            operations.set_elderly_mode(current_user, text_px or None)
        if not result.ok:
            abort(409)
    if request.accept_mimetypes.best == "application/json":
        response = jsonify(on=bool(text_px), text_px=text_px or DEFAULT_PX)
    else:
        response = redirect(safe_next(form.next.data), 303)
    response.set_cookie(
        COOKIE,
        str(text_px),
        max_age=ONE_YEAR,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=False,  # elderly.js sets it at once too, before the post has arrived
    )
    return response

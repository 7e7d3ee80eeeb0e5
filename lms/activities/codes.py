"""The check-in codes: the organiser's rotating code and the resident's personal code (我的签到码).

A rotating code is ``<step>-<signature>``: the 15-second time step it was shown in and an HMAC
over the activity's id and that step, keyed by the site's secret and the activity's own key (so a
code of one activity never opens another). It is accepted in its own step and the next one (at
most ~30 s old) — a photo of the code sent to someone at home is stale by the time they open it.

A personal code is ``<user id>-<signature>``: it names a resident, and only an organiser who is
signed in can do anything with it (check that resident in at their activity).
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from flask import current_app

from lms.activities.models import Activity
from lms.core.keyed import keyed_code
from lms.core.models import MAX_ID

STEP_SECONDS = 15
_ROTATING = re.compile(r"^(\d{1,12})-([A-Za-z0-9_-]{16})$")
_PERSONAL = re.compile(r"^(\d{1,10})-([A-Za-z0-9_-]{16})$")


def _sign(*parts: object) -> str:
    return keyed_code(current_app.config["SECRET_KEY"], *parts, size=12)


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def rotating_code(activity: Activity, moment: datetime) -> str:
    step = step_at(moment)
    return f"{step}-{_sign('rotating', activity.id, activity.code_key, step)}"


def seconds_left(moment: datetime) -> int:
    """Seconds until the code shown at *moment* is replaced."""
    return STEP_SECONDS - int(moment.timestamp()) % STEP_SECONDS


def rotating_code_fresh(activity: Activity, code: str, moment: datetime) -> bool:
    """True when *code* is this activity's code of the step of *moment* or the step before."""
    match = _ROTATING.match(code or "")
    if match is None:
        return False
    step, signature = int(match.group(1)), match.group(2)
    if step not in (step_at(moment), step_at(moment) - 1):
        return False
    expected = _sign("rotating", activity.id, activity.code_key, step)
    return hmac.compare_digest(signature, expected)


def personal_code(user_id: int) -> str:
    return f"{user_id}-{_sign('personal', user_id)}"


def personal_code_user_id(code: str) -> int | None:
    """The resident a personal code names, or None for anything forged or malformed."""
    match = _PERSONAL.match(code or "")
    if match is None:
        return None
    user_id = int(match.group(1))
    if not 0 < user_id <= MAX_ID:
        return None
    if not hmac.compare_digest(match.group(2), _sign("personal", user_id)):
        return None
    return user_id

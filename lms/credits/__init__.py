"""Credit bank (学分银行): credit accounts, learning outcomes, conversion rules, the append-only
ledger, transcripts and their public verification. (The resident's learning file, which shows
all of it beside the lower features' records, is the ``records`` feature above this one.)

Lower features know nothing of credits: a completed course reaches this feature through the
``course_completed`` signal, and the catalogue gets the credits a course earns through the one
function registered with ``courses.catalogue.register_credit_figure``.
"""

from flask import Blueprint

from lms.core import signals
from lms.courses.catalogue import register_credit_figure

bp = Blueprint("credits", __name__)
api_bp = Blueprint("credits_api", __name__, url_prefix="/api/v1")


def _open_account(user, **extra) -> None:
    from lms.accounts.models import Role
    from lms.credits.operations import open_account

    if user.has_role(Role.RESIDENT):
        open_account(user)


def _open_accounts(users, **extra) -> None:
    from lms.accounts.models import Role
    from lms.credits.operations import open_accounts

    open_accounts([user for user in users if user.has_role(Role.RESIDENT)])


def _course_completed(enrolment, **extra) -> None:
    from lms.credits.operations import record_course_completion

    record_course_completion(enrolment)


def _volunteer_served(assignment, **extra) -> None:
    from lms.credits.operations.volunteering import record_volunteer_service

    record_volunteer_service(assignment)


def _attendance_counted(attendance, **extra) -> None:
    from lms.credits.operations.attendance import record_attendance

    record_attendance(attendance, by=extra.get("by"))


def _attendance_voided(attendance, *, actor, reason, **extra) -> None:
    from lms.credits.operations.attendance import revoke_attendance

    revoke_attendance(attendance, actor=actor, reason=reason)


def _course_credits(course):
    from lms.credits.operations import credits_for_course

    return credits_for_course(course)


signals.user_created.connect(_open_account)
signals.users_created.connect(_open_accounts)
signals.course_completed.connect(_course_completed)
signals.volunteer_served.connect(_volunteer_served)
signals.attendance_counted.connect(_attendance_counted)
signals.attendance_voided.connect(_attendance_voided)
# The catalogue shows (pages and API) the credits a course earns as the bank converts them.
register_credit_figure(_course_credits)

from lms.credits import api, tasks, views  # noqa: E402,F401  (routes and jobs register on import)

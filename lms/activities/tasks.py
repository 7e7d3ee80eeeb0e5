"""Background jobs of activities: activities whose check-in window has passed are closed (their
attendance handed to the credit bank) every ten minutes, and the notice the day before goes out
hourly to those registered. Each job is a caller like a view: it calls operations and commits."""

from __future__ import annotations

import logging

from huey import crontab

from lms.core.jobs import huey
from lms.extensions import db

log = logging.getLogger(__name__)


def close_due() -> int:
    from lms.activities import operations

    closed = operations.close_due_activities()
    db.session.commit()
    return closed


def remind() -> int:
    from lms.activities import operations

    reminded = operations.send_reminders()
    db.session.commit()
    return reminded


@huey.periodic_task(crontab(minute="*/10"))
def close_finished_activities() -> None:
    with huey.flask_app.app_context():
        closed = close_due()
    if closed:
        log.info("activities: closed %d finished activities", closed)


@huey.periodic_task(crontab(minute="5"))
def remind_tomorrows_activities() -> None:
    with huey.flask_app.app_context():
        reminded = remind()
    if reminded:
        log.info("activities: reminded residents of %d activities tomorrow", reminded)

"""Background jobs of the admin feature: the participation rollups are kept current by a
periodic job (every five minutes, from the day before the last refresh on) and rebuilt from
every record each night, which also takes back participation whose records were withdrawn (an
outcome revoked). Two refreshes never run at once (a queue lock)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.exceptions import TaskLockedException

from lms.core.jobs import huey
from lms.extensions import db

log = logging.getLogger(__name__)


def _run(rebuild: bool) -> None:
    from lms.admin import rollups

    try:
        with huey.flask_app.app_context(), huey.lock_task("participation-rollups"):
            result = rollups.rebuild() if rebuild else rollups.refresh_recent()
            db.session.commit()
    except TaskLockedException:
        log.info("participation rollups: another refresh is running; skipped")
        return
    log.info(
        "participation rollups %s in %.1f s",
        "rebuilt" if rebuild else "refreshed",
        result.seconds,
    )


@huey.periodic_task(crontab(minute="*/5"))
def refresh_participation() -> None:
    _run(rebuild=False)


@huey.periodic_task(crontab(minute="40", hour="19"))  # 03:40 in Asia/Shanghai (the queue is UTC)
def rebuild_participation() -> None:
    _run(rebuild=True)

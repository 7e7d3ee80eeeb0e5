"""Background jobs of the credit bank: the nightly signed ledger checkpoint, and one made when
a county officer asks for it (``credits.checkpoints``). Two never run at once (a queue lock)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.exceptions import TaskLockedException

from lms.core.jobs import app_task, huey
from lms.extensions import db

log = logging.getLogger(__name__)


def make_checkpoint_now() -> int | None:
    """Create a checkpoint, commit, then write it to the checkpoint folder (after the commit,
    law 2). Returns its number; None when another one is being made."""
    from lms.credits import checkpoints, operations

    try:
        with huey.lock_task("ledger-checkpoint"):
            checkpoint = operations.create_checkpoint()
            db.session.commit()
            checkpoints.write_to_folder(checkpoint.document, checkpoint.leaves)
    except TaskLockedException:
        log.info("ledger checkpoint: another one is being made; skipped")
        return None
    log.info("ledger checkpoint %s: %s accounts", checkpoint.number, checkpoint.accounts)
    return checkpoint.number


@app_task()
def make_checkpoint() -> None:
    make_checkpoint_now()


@huey.periodic_task(crontab(minute="10", hour="19"))  # 03:10 in Asia/Shanghai (the queue is UTC)
def nightly_checkpoint() -> None:
    with huey.flask_app.app_context():
        make_checkpoint_now()


@huey.periodic_task(crontab(minute="30", hour="19"))  # 03:30 in Asia/Shanghai
def recheck_imported_credentials() -> None:
    """学分互认: ask each issuer whether the credentials imported from it still stand; one
    revoked at its source is flagged to the registrars (``operations.recheck_imported``)."""
    from lms.credits import operations

    with huey.flask_app.app_context():
        report = operations.recheck_imported()
        db.session.commit()
    log.info(
        "imported credentials re-checked: %s, newly revoked %s, issuer unreachable %s",
        report.checked,
        report.newly_revoked,
        report.unreachable,
    )

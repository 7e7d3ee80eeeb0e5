"""``lms admin …``: the administrators' background tables."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lms.extensions import db

LOCK = "participation-rollups"  # the worker's jobs take the same lock (admin/tasks.py)


def under_rollups_lock(work):
    """Run *work* holding the rollups' queue lock, as the worker's jobs do; a refresh already
    running is a clear error, not two writers at once."""
    from huey.exceptions import TaskLockedException

    from lms.core.jobs import huey

    try:
        with huey.lock_task(LOCK):
            result = work()
            db.session.commit()
            return result
    except TaskLockedException:
        raise click.ClickException(
            "the participation rollups are being refreshed right now (by the worker or another "
            "command); try again in a minute"
        ) from None


@click.group("admin")
def group() -> None:
    """Administration: participation rollups."""


@group.group("rollups")
def rollups_group() -> None:
    """The participation rollups the dashboard reads."""


@rollups_group.command("rebuild")
@with_appcontext
def rollups_rebuild() -> None:
    """Empty the participation rollups and compute them again from every learning record
    (the worker keeps them current after that)."""
    from lms.admin import rollups

    click.echo("rebuilding participation rollups …")
    result = under_rollups_lock(rollups.rebuild)
    click.echo(f"rebuilt {result.periods} periods in {result.seconds:.1f} s")


@rollups_group.command("refresh")
@with_appcontext
def rollups_refresh() -> None:
    """Bring the rollups up to date from the day before the last refresh (what the worker
    does every five minutes)."""
    from lms.admin import rollups

    result = under_rollups_lock(rollups.refresh_recent)
    click.echo(f"refreshed from {result.from_day or 'the first record'} in {result.seconds:.1f} s")


from lms.admin import tasks  # noqa: E402,F401  (the worker learns the periodic jobs)

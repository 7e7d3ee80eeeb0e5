"""The ``lms`` command: Flask's commands (run, shell, routes, db …), the demo and the worker;
each feature registers its own group from its ``cli.py``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from lms import create_app

    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    help="泸县城乡居民终身学习网 — management commands.",
)
def main() -> None:
    """Entry point of the ``lms`` console script."""


def init_app(app) -> None:
    """Attach the commands that belong to no feature (each feature adds its own ``cli.group``
    in ``create_app``)."""
    from lms import ops

    for command in (demo, worker):
        app.cli.add_command(command)
    ops.init_app(app)  # lms doctor, backup, restore


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
@with_appcontext
def demo_load() -> None:
    """Load the demo county (does nothing on a database that already has data)."""
    from lms.demo import load_demo

    load_demo(echo=click.echo)


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker(workers: int) -> None:
    """Run the background job consumer (transcoding, indexing, file clean-up …)."""
    import logging

    from lms.core.jobs import huey
    from lms.ops import workers as beats

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    problem = beats.queue_problem()
    if problem:  # a wrong LMS_QUEUE_URL: say so and stop, rather than retry for ever
        raise click.ClickException(f"worker not started: {problem}")
    url = beats.shown_url(current_app.config["LMS_QUEUE_URL"])
    click.echo(f"worker: queue at {url}, {workers} thread(s)")
    # Its row in worker_beats (for `lms doctor`) every LMS_WORKER_HEARTBEAT_S seconds (more
    # often than a minute, it also sends again the transcodes of a worker that died).
    stop = beats.start_heartbeat(current_app._get_current_object())
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    )
    try:
        consumer.run()
    finally:
        stop.set()
        beats.forget()


if __name__ == "__main__":
    main()

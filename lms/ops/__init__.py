"""Running the platform: workers' heartbeats, ``lms doctor`` (is this deployment set up right?),
``lms backup`` and ``lms restore``. Above every feature: it reads their settings and files."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The ``lms doctor``/``backup``/``restore`` commands and the fingerprint endpoint that lets
    ``lms doctor`` compare the app servers' settings (not reachable through nginx)."""
    from lms.ops import cli, views

    for command in (cli.doctor, cli.backup, cli.restore):
        app.cli.add_command(command)
    app.register_blueprint(views.bp)

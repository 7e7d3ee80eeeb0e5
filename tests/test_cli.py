"""The operating interface: `lms demo load` and `lms worker` as DESIGN.md names them."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from lms.accounts.models import OrgUnit, User
from lms.cli import main
from lms.courses.models import Course, CourseStatus
from lms.extensions import db


def test_demo_load_fills_an_empty_database_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "13700000001" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 36
    assert (
        db.session.scalar(
            select(func.count()).select_from(Course).where(Course.status == CourseStatus.PUBLISHED)
        )
        == 12
    )
    units = db.session.scalar(select(func.count()).select_from(OrgUnit))

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0
    assert "跳过" in again.output
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == units


def test_help_lists_the_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["--help"])
    for command in ("db", "demo", "accounts", "run", "worker"):
        assert command in result.output

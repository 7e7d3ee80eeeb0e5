"""The operating interface: `lms demo load` and `lms worker` as DESIGN.md names them."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from lms.accounts.models import OrgUnit, User
from lms.activities.registry.models import ActivityLecturer, Lecturer
from lms.cli import main
from lms.courses.models import Course, CourseStatus
from lms.demo import MANY_RESIDENTS
from lms.extensions import db


def test_demo_load_fills_an_empty_database_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "13700000001" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 36 + MANY_RESIDENTS
    assert (
        db.session.scalar(
            select(func.count()).select_from(Course).where(Course.status == CourseStatus.PUBLISHED)
        )
        == 12
    )
    units = db.session.scalar(select(func.count()).select_from(OrgUnit))
    # The registry: lecturers and volunteers, and the past activities' recorded service.
    assert db.session.scalar(select(func.count()).select_from(Lecturer)) == 6
    served = select(func.count()).select_from(ActivityLecturer)
    assert db.session.scalar(served.where(ActivityLecturer.recorded_at.is_not(None))) > 0

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0
    assert "跳过" in again.output
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == units


def test_help_lists_the_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["--help"])
    for command in ("db", "demo", "accounts", "run", "worker"):
        assert command in result.output


def test_a_fresh_worker_process_knows_every_job(tmp_path):
    """The worker only runs jobs whose modules the app imported: a job queued by a web process
    must be known to a worker that never touched the feature (a real bug once: search)."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    declared = set()
    for path in (root / "lms").rglob("tasks.py"):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for name in re.findall(r"^@app_task\(.*\)\ndef (\w+)", path.read_text(), re.M):
            declared.add(f"{module}.{name}")
    assert "lms.search.tasks.index_course" in declared
    script = (
        "from lms import create_app; from lms.core.jobs import huey;"
        f"create_app({{'LMS_INSTANCE_DIR': {str(tmp_path)!r}}});"
        "print('\\n'.join(huey._registry._registry))"
    )
    known = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root
    ).stdout.split()
    assert declared <= set(known), declared - set(known)

"""The job queue: jobs leave only after commit, and a real `lms worker` process runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lms.core import storage
from lms.core.jobs import after_commit, huey
from lms.core.tasks import delete_media_file
from lms.extensions import db


@pytest.fixture
def app_config(tmp_path):
    return {
        "LMS_QUEUE_IMMEDIATE": False,
        "LMS_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
    }


def test_jobs_are_sent_on_commit_and_dropped_on_rollback(app):
    huey.flush()
    after_commit(db.session, delete_media_file, "covers/a.jpg")
    db.session.rollback()
    assert huey.pending_count() == 0

    after_commit(db.session, delete_media_file, "covers/a.jpg")
    assert huey.pending_count() == 0  # not before the commit
    db.session.commit()
    assert huey.pending_count() == 1


def test_worker_process_runs_queued_jobs(app, tmp_path):
    victim = storage.media_path("covers", "old.jpg")
    storage.write_atomically(victim, b"old cover")
    huey.flush()
    after_commit(db.session, delete_media_file, "covers/old.jpg")
    db.session.commit()

    env = {
        **os.environ,
        "LMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "LMS_QUEUE_URL": app.config["LMS_QUEUE_URL"],
        "LMS_MEDIA_DIR": app.config["LMS_MEDIA_DIR"],
        "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "lms.cli", "worker", "-w", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while victim.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=10)[0].decode()
    assert not victim.exists(), output
    assert huey.pending_count() == 0


def test_media_paths_never_leave_the_media_folder(app):
    with pytest.raises(ValueError, match="outside"):
        storage.media_path("..", "etc", "passwd")

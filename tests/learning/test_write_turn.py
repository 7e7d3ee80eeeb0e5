"""SQLite: a request's writes take turns across processes (gunicorn workers) through an
advisory lock on a file beside the database, held from the first write to the commit."""

from __future__ import annotations

import fcntl
import os

import pytest
from sqlalchemy import update

from lms.accounts.models import User
from lms.extensions import db


def locked_elsewhere(path: str) -> bool:
    """Whether another open file (as another process would have) finds *path* locked."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def test_a_writing_request_holds_the_file_lock_until_its_commit(app, resident):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    path = db.engine.url.database + "-write-turn"
    with app.test_request_context("/api/v1/me", method="POST"):
        db.session.execute(update(User).where(User.id == resident.id).values(name="王五"))
        assert locked_elsewhere(path)
        db.session.commit()
        assert not locked_elsewhere(path)
        db.session.execute(update(User).where(User.id == resident.id).values(name="王六"))
        assert locked_elsewhere(path)
        db.session.rollback()
        assert not locked_elsewhere(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"

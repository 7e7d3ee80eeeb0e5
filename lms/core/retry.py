"""One request, one unit of work, retried on a conflict with a concurrent request.

Two taps on the same button, two tabs sending heartbeats, a retried upload: the database
refuses one of two racing transactions (a version-column conflict, a unique key both tried to
insert, SQLite busy, PostgreSQL's serialisation failure or deadlock). Every view that writes is
run again from the start in a fresh transaction, a few times, so the second request sees what
the first committed and answers as if it had come later; when the conflict persists the answer
is 409 with the error JSON (or page), never a 500.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from lms.core.errors import Conflict
from lms.extensions import db

ATTEMPTS = 4
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# PostgreSQL: serialization_failure, deadlock_detected, unique_violation.
RETRY_SQLSTATES = frozenset({"40001", "40P01", "23505"})
SQLITE_RETRY_MESSAGES = ("database is locked", "database table is locked", "UNIQUE constraint")


def is_conflict(error: BaseException | None) -> bool:
    """Did the database refuse *error*'s transaction only because another one got there first?
    The error may stand on another (a session unusable after a failed flush: its cause)."""
    seen = 0
    while error is not None and seen < 5:
        if _is_conflict(error):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _is_conflict(error: BaseException) -> bool:
    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate is not None:
        return sqlstate in RETRY_SQLSTATES
    if isinstance(error, OperationalError | IntegrityError):
        return any(text in str(error.orig) for text in SQLITE_RETRY_MESSAGES)
    return False


def without_retry(view: Callable) -> Callable:
    """Mark a view that reads the raw request body (it cannot be run twice): a conflict in it
    answers 409 at once."""
    view.lms_no_retry = True
    return view


def retrying(view: Callable) -> Callable:
    """Run *view* again on a conflict (see the module's docstring); safe methods run once."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return view(*args, **kwargs)
        attempts = 1 if getattr(view, "lms_no_retry", False) else ATTEMPTS
        for attempt in range(attempts):
            try:
                return view(*args, **kwargs)
            except Exception as error:
                if not is_conflict(error):
                    raise
                db.session.rollback()
                _rewind_uploads()
                if attempt + 1 < attempts:
                    time.sleep(random.uniform(0.005, 0.02) * (2**attempt))
        raise Conflict(_("有其他操作同时进行，请稍后重试"))

    return run


def _rewind_uploads() -> None:
    """Uploaded files were read by the failed attempt; the next one reads them again."""
    for storage in request.files.values():
        if storage.stream.seekable():
            storage.stream.seek(0)


def init_app(app: Flask) -> None:
    """Wrap every view function registered so far (call it after the blueprints)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = retrying(view)

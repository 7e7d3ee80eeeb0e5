"""The job queue (Huey): SQLite in the instance folder by default, Redis for many machines.

Jobs are enqueued only after the request's transaction commits (law 2): ``after_commit`` keeps
the calls on the session and sends them when the commit succeeds; a rollback forgets them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Flask
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from lms.core.private import make_private_database

huey = Huey("lms", storage_class=MemoryStorage, results=False, utc=True)

_PENDING = "lms_after_commit"
_UNDO = "lms_on_rollback"


def init_app(app: Flask) -> None:
    """Point the queue at ``LMS_QUEUE_URL``; run jobs inline when ``LMS_QUEUE_IMMEDIATE``."""
    url = app.config["LMS_QUEUE_URL"]
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": path}
    elif parsed.scheme in ("redis", "rediss"):
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": url}
    else:
        raise RuntimeError(f"LMS_QUEUE_URL must be sqlite:/// or redis://, not {url!r}")
    huey.immediate = bool(app.config["LMS_QUEUE_IMMEDIATE"])
    huey.storage = huey.create_storage()
    if parsed.scheme == "sqlite":
        make_private_database(Path(path))
    huey.flask_app = app


def after_commit(session: Session, task: Any, *args: Any) -> None:
    """Enqueue ``task(*args)`` once *session* commits; a rollback forgets it."""
    _hooks(session, _PENDING).append((task, args))


def on_rollback(session: Session, function: Any, *args: Any) -> None:
    """Call ``function(*args)`` if *session* rolls back (undo a file written for this request)."""
    _hooks(session, _UNDO).append((function, args))


def _hooks(session: Session, key: str) -> list:
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even of an untouched session, is seen
    return session.info.setdefault(key, [])


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_UNDO, None)
    for task, args in session.info.pop(_PENDING, []):
        if huey.immediate:
            _run_apart(task, args)
        else:
            task(*args)


def _run_apart(task: Any, args: tuple) -> None:
    """Immediate mode (tests, one-off scripts): run the job now, but in a thread of its own, so
    it has its own application context and database session as it would in the worker (the
    committing session may emit no SQL inside this hook)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            task(*args)
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run, name=f"job-{getattr(task, 'name', task)}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    # Only the outer transaction counts: a savepoint's rollback leaves the request going on.
    if previous_transaction.nested:
        return
    session.info.pop(_PENDING, None)
    for function, args in session.info.pop(_UNDO, []):
        function(*args)


def app_task(**options: Any):
    """``huey.task`` that runs the job inside the Flask application context."""

    def decorate(function):
        def run(*args: Any, **kwargs: Any) -> Any:
            from flask import has_app_context

            if has_app_context():
                return function(*args, **kwargs)
            with huey.flask_app.app_context():
                return function(*args, **kwargs)

        run.__name__ = run.__qualname__ = function.__name__
        run.__module__ = function.__module__
        return huey.task(**options)(run)

    return decorate

"""Inserting a row that a parallel request may insert first (a double tap, two tabs)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from lms.extensions import db


def add_unique(row) -> bool:
    """Insert *row* in a savepoint of its own and say whether it went in. False when a unique key
    is already taken: the savepoint alone is undone, *row* leaves the session and the request's
    transaction goes on (the caller reads the row that won). The row is added inside the
    savepoint, since ``begin_nested()`` first flushes whatever is pending outside it."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        if row in db.session:
            db.session.expunge(row)
        return False
    return True

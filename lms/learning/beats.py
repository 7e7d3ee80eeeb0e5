"""The heartbeat's own path: ``POST /api/v1/lessons/<id>/progress`` answered before Flask.

Every viewer sends a heartbeat every 15 s, so heartbeats are most of the site's requests and
nearly all of its writes. The ordinary path spends more on the request's machinery (context,
session, locale, hooks, the ORM's unit of work) than on law 4 itself. Here a heartbeat does
what law 4 needs and no more: one read that finds the resident together with the lesson, the
enrolment, the progress and the visit, the law's own functions from
:mod:`lms.learning.operations`, the two conditional UPDATEs and one commit, and the answer the
API route gives.

Who is asking, without a session or a cache:
- an API token (``Authorization: Bearer``): the read finds it by its SHA-256, so a revoked or
  expired token or a deactivated account stops at once;
- the web player's visit key (``X-Visit-Key``, given with the visit it belongs to): an HMAC of
  the site's secret over the visit, its resident and the resident's session nonce, so it is
  worth what the resident's sign-in is (a password change or reset voids it), for that visit
  only and for ``VISIT_KEY_HOURS`` after it began. The cookie beside it is left to Flask.

Whatever is not such a heartbeat goes on to the application untouched, body included, and is
answered there in full (messages in the caller's language, retries, signals, the cookie):
no key or token, a remember-me cookie beside a token, a body that is not a valid heartbeat, a
credential that does not stand, a draft course or no such lesson, anything law 4 refuses, a
lesson whose progress has no row yet, the heartbeat that completes the lesson, and a conflict
with parallel heartbeats that outlasts ``ATTEMPTS`` readings. Nothing is written here before a
request is passed on.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import Flask
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from lms.accounts.auth import forget_token
from lms.core.api import API_PREFIX, MAX_JSON_DEPTH, json_depth
from lms.core.errors import OperationError
from lms.core.keyed import keyed_code
from lms.core.models import MAX_ID
from lms.core.prepared import Prepared
from lms.core.time import utcnow
from lms.core.web import begin_sqlite_write, end_sqlite_write, security_headers
from lms.courses.models import CourseStatus
from lms.extensions import db
from lms.learning import operations
from lms.learning.serializers import heartbeat_out

PATH = re.compile(re.escape(API_PREFIX) + r"/lessons/([1-9][0-9]{0,17})/progress")
# A heartbeat's body is a few hundred bytes (500 intervals at most); larger ones are passed on.
MAX_BODY_BYTES = 64 * 1024
# Reads of the progress when a parallel heartbeat of the same resident wrote first.
ATTEMPTS = 3
# How long after a visit began its key stands in for the resident's sign-in here (a longer
# visit's heartbeats go the full way, with the cookie).
VISIT_KEY_HOURS = 12


def visit_key(secret: str | bytes, visit_id: int, user_id: int, session_nonce: str) -> str:
    """The key of one visit for its player (see the module's docstring)."""
    return keyed_code(secret, "lms visit key", visit_id, user_id, session_nonce, size=18)


class Statements(NamedTuple):
    by_token: Prepared
    by_visit: Prepared
    write_progress: Prepared
    write_visit: Prepared
    write_both: Prepared | None  # PostgreSQL: both UPDATEs in one statement
    sqlite: bool
    errors: type[Exception]  # the driver's own errors


class Caller(NamedTuple):
    """Who sends a heartbeat: the SHA-256 of an API token, or a visit key."""

    token: str | None = None
    visit_key: str | None = None


class PassOn(Exception):
    """This request is not one for the short path: the application answers it."""


class HeartbeatPath:
    """WSGI middleware in front of the application's own ``wsgi_app``. ``served`` and
    ``passed_on`` count the heartbeats answered here and those handed on."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        from lms.learning.api import HeartbeatIn  # the route's own body model

        self.app = app
        self.wsgi_app = wsgi_app
        self.model = HeartbeatIn
        self.remember_cookie = app.config.get("REMEMBER_COOKIE_NAME", "remember_token") + "="
        self.headers = [
            ("Content-Type", "application/json"),
            *security_headers(secure=bool(app.config.get("SESSION_COOKIE_SECURE")), api=True),
            ("Vary", "Accept-Encoding"),
        ]
        self.engine: Engine | None = None
        self._statements: Statements | None = None
        self.served = self.passed_on = 0

    def statements(self) -> Statements:
        """The heartbeat's statements, compiled for the application's database on first use."""
        if self._statements is None:
            with self.app.app_context():
                self.engine = db.engine
            dialect = self.engine.dialect
            by_token, write_progress, write_visit = operations.heartbeat_statements("token")
            by_visit = operations.heartbeat_statements("visit")[0]
            self._statements = Statements(
                by_token=Prepared(by_token, dialect),
                by_visit=Prepared(by_visit, dialect),
                write_progress=Prepared(write_progress, dialect),
                write_visit=Prepared(write_visit, dialect),
                write_both=(
                    Prepared(operations.heartbeat_write_both(), dialect)
                    if dialect.name == "postgresql"
                    else None
                ),
                sqlite=dialect.name == "sqlite",
                errors=dialect.loaded_dbapi.Error,
            )
        return self._statements

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        match = PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.wsgi_app(environ, start_response)
        try:
            caller, body = self._request(environ)
            answer = self._beat(int(match.group(1)), caller, body)
        except PassOn:
            self.passed_on += 1
            return self.wsgi_app(environ, start_response)
        self.served += 1
        data = (self.app.json.dumps(answer) + "\n").encode()
        start_response("200 OK", [*self.headers, ("Content-Length", str(len(data)))])
        return [data]

    def _request(self, environ: dict[str, Any]) -> tuple[Caller, bytes]:
        """Who is asking and the body, when both are what a player sends."""
        header = environ.get("HTTP_AUTHORIZATION")
        if header is not None:
            scheme, _sep, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise PassOn
            if self.remember_cookie in environ.get("HTTP_COOKIE", ""):
                raise PassOn  # Flask-Login tries a remember-me cookie before a token
            caller = Caller(token=hashlib.sha256(token.encode()).hexdigest())
        else:
            key = environ.get("HTTP_X_VISIT_KEY", "").strip()
            if not key:
                raise PassOn
            caller = Caller(visit_key=key)
        content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        if content_type != "application/json" or not length.isdigit():
            raise PassOn
        if not 0 < int(length) <= MAX_BODY_BYTES:
            raise PassOn
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)  # for the application, if it is passed on
        if len(body) != int(length):
            raise PassOn
        return caller, body

    def _beat(self, lesson_id: int, caller: Caller, body: bytes) -> dict[str, Any]:
        if lesson_id > MAX_ID or json_depth(body) > MAX_JSON_DEPTH:
            raise PassOn
        try:
            data = json.loads(body)
            beat = self.model.model_validate(data) if isinstance(data, dict) else None
        except (ValueError, UnicodeDecodeError, RecursionError, ValidationError):
            raise PassOn from None
        if beat is None:
            raise PassOn
        statements = self.statements()
        keys = {"lesson_id": lesson_id, "visit_id": beat.visit_id}
        if caller.token is not None:
            read, keys["token_hash"] = statements.by_token, caller.token
        else:
            read = statements.by_visit
        now = utcnow()
        try:
            pooled = self.engine.raw_connection()
        except SQLAlchemyError:
            raise PassOn from None  # the database is out of reach: the full path says so
        try:
            cursor = pooled.cursor()
            for attempt in range(ATTEMPTS):
                row = read.first(cursor, keys)
                self._check_caller(caller, row, beat.visit_id, now)
                credit = self._credit(row, beat, now)
                if statements.write_both is not None:
                    both = operations.both_params(credit)
                    if statements.write_both.run(cursor, both).rowcount == 1:
                        break
                    continue
                progress = statements.write_progress.values(credit.progress)
                if attempt == 0 and statements.sqlite:
                    begin_sqlite_write(pooled)
                if statements.write_progress.execute(cursor, progress).rowcount == 1:
                    statements.write_visit.run(cursor, credit.visit)
                    break
                # A parallel heartbeat (another tab) wrote first: read again. On SQLite this
                # transaction now holds the write lock, so the second reading is the last.
            else:
                raise PassOn
            pooled.commit()
        except (PassOn, statements.errors):
            try:
                pooled.rollback()
            except statements.errors:
                pooled.invalidate()  # a connection lost on the way: not back to the pool
            raise PassOn from None
        finally:
            if statements.sqlite:
                end_sqlite_write(pooled)
            pooled.close()
        return heartbeat_out(credit.beat)

    def _check_caller(self, caller: Caller, row: Any, visit_id: int, now: datetime) -> None:
        """PassOn unless the token or the visit key stands for an account that may learn."""
        if row is None:  # no such lesson, token or visit
            raise PassOn
        if caller.token is not None:
            if (
                row.token_revoked_at is not None
                or row.token_expires_at <= now
                or not row.user_active
            ):
                forget_token(caller.token)  # the full path answers 401, without its cache
                raise PassOn
        else:
            expected = visit_key(
                self.app.config["SECRET_KEY"], visit_id, row.user_id, row.session_nonce
            )
            if (
                not hmac.compare_digest(expected.encode(), caller.visit_key.encode())
                or now - row.started_at > timedelta(hours=VISIT_KEY_HOURS)
                or not row.user_active
            ):
                raise PassOn
        if row.must_change_password:
            raise PassOn

    @staticmethod
    def _credit(row: Any, beat: Any, now: datetime) -> operations.Credit:
        """Law 4 on what the read found, when this path may apply it."""
        if (
            row.status is CourseStatus.DRAFT  # whether the caller may see it: the full path
            or row.progress_id is None  # the progress's first row: the full path makes it
        ):
            raise PassOn
        try:
            reported = operations.check_heartbeat(
                row, position_s=beat.position_s, segments=beat.segments, rate=beat.rate, now=now
            )
        except OperationError:
            raise PassOn from None  # the full path answers with its message
        credit = operations.credit_heartbeat(
            row,
            operations.progress_state(row),
            reported,
            visit_id=beat.visit_id,
            position_s=beat.position_s,
            rate=beat.rate,
            now=now,
        )
        if credit.completes:
            raise PassOn  # completing a lesson signals the credits: the full path does it
        return credit


def init_app(app: Flask) -> None:
    path = HeartbeatPath(app, app.wsgi_app)
    app.wsgi_app = path
    app.extensions["lms_heartbeat_path"] = path

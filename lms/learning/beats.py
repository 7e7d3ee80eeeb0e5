"""The heartbeat's own path: ``POST /api/v1/lessons/<id>/progress`` with a bearer token,
answered before Flask.

Every viewer sends a heartbeat every 15 s, so heartbeats are most of the site's requests and
nearly all of its writes. The ordinary path spends more on the request's machinery (context,
session, locale, hooks, the ORM's unit of work) than on law 4 itself. Here a heartbeat does
what law 4 needs and no more: one read that finds the token's resident together with the
lesson, the enrolment, the progress and the visit (so a revoked token, a signed-out or
deactivated account stops at once: no cache), the law's own functions from
:mod:`lms.learning.operations`, the two conditional UPDATEs and one commit, and the answer the
API route gives.

Whatever is not such a heartbeat goes on to the application untouched, body included, and is
answered there in full (messages in the caller's language, retries, signals): no bearer token
(the web player signs in with its cookie), a remember-me cookie beside the token, a body that
is not a valid heartbeat, a token that is unknown, revoked or expired, an account that is
deactivated or must change its password, a draft course or no such lesson, anything law 4
refuses, a lesson whose progress has no row yet, the heartbeat that completes the lesson, and a
conflict with a parallel heartbeat. Nothing is written here before a request is passed on.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from flask import Flask
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from lms.core.api import API_PREFIX, MAX_JSON_DEPTH, json_depth
from lms.core.errors import OperationError
from lms.core.models import MAX_ID
from lms.core.prepared import Prepared
from lms.core.time import utcnow
from lms.core.web import begin_sqlite_write, end_sqlite_write, security_headers
from lms.courses.models import CourseStatus
from lms.extensions import db
from lms.learning import operations
from lms.learning.serializers import progress_figures

PATH = re.compile(re.escape(API_PREFIX) + r"/lessons/([1-9][0-9]{0,17})/progress")
# A heartbeat's body is a few hundred bytes (500 intervals at most); larger ones are passed on.
MAX_BODY_BYTES = 64 * 1024
# Reads of the progress when a parallel heartbeat of the same resident wrote first.
ATTEMPTS = 3


class Statements(NamedTuple):
    read: Prepared
    write_progress: Prepared
    write_visit: Prepared
    sqlite: bool
    errors: type[Exception]  # the driver's own errors


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
            read, write_progress, write_visit = operations.heartbeat_statements(by_token=True)
            self._statements = Statements(
                read=Prepared(read, dialect),
                write_progress=Prepared(write_progress, dialect),
                write_visit=Prepared(write_visit, dialect),
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
            token, body = self._request(environ)
            answer = self._beat(int(match.group(1)), token, body)
        except PassOn:
            self.passed_on += 1
            return self.wsgi_app(environ, start_response)
        self.served += 1
        data = (self.app.json.dumps(answer) + "\n").encode()
        start_response("200 OK", [*self.headers, ("Content-Length", str(len(data)))])
        return [data]

    def _request(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        """The bearer token and the body, when both are what a player sends."""
        scheme, _sep, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise PassOn
        if self.remember_cookie in environ.get("HTTP_COOKIE", ""):
            raise PassOn  # Flask-Login tries a remember-me cookie before a token
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
        return token, body

    def _beat(self, lesson_id: int, token: str, body: bytes) -> dict[str, Any]:
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
        keys = {
            "lesson_id": lesson_id,
            "visit_id": beat.visit_id,
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        }
        now = utcnow()
        pooled = self.engine.raw_connection()
        try:
            cursor = pooled.cursor()
            for attempt in range(ATTEMPTS):
                credit = self._credit(statements.read.first(cursor, keys), beat, now)
                progress = statements.write_progress.values(credit.progress)
                if attempt == 0 and statements.sqlite:
                    begin_sqlite_write(pooled)
                if statements.write_progress.execute(cursor, progress).rowcount == 1:
                    break
                # A parallel heartbeat (another tab) wrote first: read again. On SQLite this
                # transaction now holds the write lock, so the second reading is the last.
            else:
                raise PassOn
            statements.write_visit.run(cursor, credit.visit)
            pooled.commit()
        except (PassOn, statements.errors):
            pooled.rollback()
            raise PassOn from None
        finally:
            if statements.sqlite:
                end_sqlite_write(pooled)
            pooled.close()
        figures = credit.beat
        return progress_figures(
            figures.duration_s, figures.watched_s, figures.completed, figures.resume_position_s
        )

    @staticmethod
    def _credit(row: Any, beat: Any, now: datetime) -> operations.Credit:
        """Law 4 on what the read found, when this path may apply it."""
        if (
            row is None  # no such lesson, or no such token
            or row.token_revoked_at is not None
            or row.token_expires_at <= now
            or not row.user_active
            or row.must_change_password
            or row.status is CourseStatus.DRAFT  # whether the caller may see it: the full path
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

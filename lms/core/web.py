"""Request-level wiring shared by every page and API call: the anonymous user, CSRF for cookie
API writes, security headers, locale choice, error pages and template helpers."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    has_request_context,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from lms.core.api import API_PREFIX, ApiError, error_response
from lms.core.errors import OperationError
from lms.core.models import MAX_ID
from lms.core.private import make_private_database
from lms.core.time import format_local
from lms.extensions import csrf, db, login_manager

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

ERROR_MESSAGES = {
    400: (_l("请求有误"), _l("提交的内容无法识别，请返回重试。")),
    401: (_l("请先登录"), _l("这个页面需要登录后才能查看。")),
    403: (_l("没有权限"), _l("您没有权限访问这个页面。")),
    404: (_l("页面不存在"), _l("您要找的页面不存在，或者已被删除。")),
    405: (_l("操作不支持"), _l("这个地址不支持这种操作。")),
    413: (_l("文件太大"), _l("上传的内容超过了大小限制。")),
    415: (_l("格式不支持"), _l("提交的内容格式不受支持。")),
    422: (_l("内容有误"), _l("提交的内容有误，请检查后重试。")),
    429: (_l("操作太频繁"), _l("操作太频繁，请稍后再试。")),
    500: (_l("系统出错了"), _l("服务器遇到了问题，我们会尽快修复，请稍后再试。")),
}


class Anonymous(AnonymousUserMixin):
    grants: list = []
    roles: set = frozenset()

    def has_role(self, role) -> bool:
        return False


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


class BoundedInt(IntegerConverter):
    """``<int:…>`` in every URL: numbers beyond the id range simply do not match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def site_url(endpoint: str, *, external: bool = False, **values) -> str:
    """A URL of the site that also works outside a request (commands, jobs). External URLs use
    ``LMS_PUBLIC_URL`` when set (what a QR code on paper must point at), else the request's
    own address."""
    base = current_app.config.get("LMS_PUBLIC_URL")
    if has_request_context() and not (external and base):
        return url_for(endpoint, _external=external, **values)
    parts = urlsplit(base or "http://localhost")
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=external)


def int_arg(name: str, default: int | None = None) -> int | None:
    """A whole-number query argument within the id range, else *default*."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else default


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "accounts.sign_in"
    login_manager.session_protection = "basic"
    login_manager.login_message = None
    login_manager.unauthorized_handler(_unauthorized)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "begin", _sqlite_begin)
            event.listen(db.engine, "savepoint", _sqlite_savepoint)
            event.listen(db.engine, "before_cursor_execute", _sqlite_take_write_turn)
            for name in ("checkin", "invalidate", "soft_invalidate", "detach"):
                event.listen(db.engine.pool, name, _sqlite_end_write_turn)

    app.before_request(_protect_cookie_api_writes)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(OperationError, _operation_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.globals["current_locale"] = lambda: select_locale(app)


def select_locale(app: Flask | None = None) -> str:
    locales = (app or current_app).config["LMS_LOCALES"]
    if not has_request_context():
        return locales[0]  # commands and background jobs speak the default language
    wanted = session.get("locale") if not is_api_request() else request.args.get("lang")
    return wanted if wanted in locales else locales[0]


def _sqlite_pragmas(connection, record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    files = {row[1]: row[2] for row in cursor.execute("PRAGMA database_list") if row[2]}
    cursor.close()
    for (
        name
    ) in files.values():  # created under the process's umask: owner-only, with its WAL and SHM
        make_private_database(Path(name))
    if "main" in files:
        record.info[_TURN_FILE_KEY] = files["main"] + "-write-turn"


def _sqlite_begin(connection) -> None:
    """A request that writes takes SQLite's write lock with its first write (BEGIN IMMEDIATE,
    waiting up to busy_timeout) rather than failing when another writer got there first; reads,
    jobs and commands begin deferred. Python's sqlite3 emits the BEGIN before the first write."""
    writing = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
    connection.connection.dbapi_connection.isolation_level = "IMMEDIATE" if writing else "DEFERRED"


def _sqlite_savepoint(connection, name) -> None:
    """Python's sqlite3 opens a transaction before DML but not before a SAVEPOINT, so a savepoint
    that is the first write of a unit of work would make its own transaction and its RELEASE
    would commit at once, out of reach of a later rollback. Begin the transaction first."""
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        connection.exec_driver_sql(f"BEGIN {raw.isolation_level or 'DEFERRED'}")


# A request's writes take turns: SQLite lets one writer at a time anyway, and a writer refused by
# the database waits in its busy handler by sleeps of up to 100 ms, long after the lock is free.
# So a writer first takes a turn here, in two parts: a lock in this process (the next thread
# wakes at once), then an advisory lock (flock) on a file beside the database, shared by every
# process (gunicorn workers, commands taking turns do not: they wait in SQLite's handler).
# Taken just before the first write of a request's transaction (its BEGIN IMMEDIATE), given back
# when its connection returns to the pool (after the commit or rollback) or is invalidated. A
# thread that has the turn never waits for it again, and none waits longer than the busy timeout
# (then the database decides). A process that dies gives its file lock back with it.
BUSY_TIMEOUT_MS = 10_000
_write_turn = threading.Lock()
_write_turn_owner: int | None = None
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN", "SAVEPOINT")
_TURN_KEY = "lms_write_turn"
_TURN_FILE_KEY = "lms_write_turn_file"


def _sqlite_take_write_turn(connection, cursor, statement, parameters, context, executemany):
    raw = connection.connection.dbapi_connection
    if raw.isolation_level != "IMMEDIATE" or raw.in_transaction:
        return
    if not statement.lstrip()[:9].upper().startswith(_WRITES):
        return
    _take_write_turn(connection.info)


def begin_sqlite_write(pooled) -> None:
    """For a unit of work run on a pooled DBAPI connection of SQLite directly (``pooled``:
    what ``engine.raw_connection()`` gives, not yet writing): take the write turn, and make
    the next write begin IMMEDIATE, as a request's first write does. Given back when the
    connection returns to the pool."""
    pooled.driver_connection.isolation_level = "IMMEDIATE"
    _take_write_turn(pooled.info)


def _take_write_turn(info: dict) -> None:
    global _write_turn_owner
    if _TURN_KEY in info or _write_turn_owner == threading.get_ident():
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    if not _write_turn.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        return
    _write_turn_owner = threading.get_ident()
    info[_TURN_KEY] = _lock_file(info.get(_TURN_FILE_KEY), deadline)


def _lock_file(path: str | None, deadline: float) -> int | None:
    """An open descriptor of *path* holding its exclusive flock, or None (no file: an
    in-memory database; or not got before *deadline*). Closing the descriptor unlocks."""
    if path is None:
        return None
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    pause = 0.0002
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            if time.monotonic() + pause > deadline:
                os.close(descriptor)
                return None
            time.sleep(pause)  # the holder's transaction is two statements and a commit
            pause = min(pause * 2, 0.002)


def end_sqlite_write(pooled) -> None:
    """Give the write turn of :func:`begin_sqlite_write` back as soon as the unit of work has
    committed or rolled back (other writers need not wait for the pool)."""
    _end_write_turn(pooled.info)


def _sqlite_end_write_turn(dbapi_connection, record, *_args) -> None:
    if record is not None:
        _end_write_turn(record.info)


def _end_write_turn(info: dict) -> None:
    global _write_turn_owner
    if _TURN_KEY not in info:
        return
    descriptor = info.pop(_TURN_KEY)
    if descriptor is not None:
        os.close(descriptor)
    _write_turn_owner = None
    _write_turn.release()


def _unauthorized():
    from flask import redirect, url_for

    if is_api_request():
        from lms.core.api import unauthorised

        raise unauthorised()
    return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))


def _protect_cookie_api_writes() -> None:
    """API writes authenticated by a cookie (the session, or remember-me) must carry the CSRF
    token; bearer-token clients and anonymous calls carry no cookie authority, so they need none
    (an anonymous caller with a session cookie gets the route's own answer, e.g. 401)."""
    if (
        is_api_request()
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and "Authorization" not in request.headers
        and current_app.config.get("WTF_CSRF_ENABLED", True)
        and current_user.is_authenticated
    ):
        csrf.protect()


def security_headers(*, secure: bool, api: bool) -> list[tuple[str, str]]:
    """The headers every answer carries (unless its view set its own): *secure* when the site
    is served over https behind a proxy, *api* for an answer under /api/v1."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    if api:
        headers.append(("Cache-Control", "no-store"))
    return headers


def _security_headers(response):
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    for name, value in security_headers(secure=secure, api=is_api_request()):
        response.headers.setdefault(name, value)
    return response


def error_page(status: int, message: str | None = None):
    title, default = ERROR_MESSAGES.get(status, ERROR_MESSAGES[400 if status < 500 else 500])
    return render_template(
        "errors/error.html", status=status, title=str(title), message=message or str(default)
    ), status


def _own_description(error: HTTPException) -> str | None:
    """The message given to ``abort(status, description)``, if any (not werkzeug's default)."""
    description = error.description
    return None if description is None or description is type(error).description else description


def _http_error(error: HTTPException):
    status = error.code or 500
    message = _own_description(error)
    if is_api_request():
        title, default = ERROR_MESSAGES.get(status, ERROR_MESSAGES[400 if status < 500 else 500])
        if status == 404:
            default = _("找不到该内容")
        codes = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "too_large",
            415: "unsupported_media_type",
            429: "rate_limited",
        }
        response = error_response(status, codes.get(status, "error"), message or str(default))
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
    if status < 400:
        return error
    return error_page(status, message)


def _csrf_error(error: CSRFError):
    message = _("页面已过期或请求来源不明，请刷新页面后重试")
    if is_api_request():
        return error_response(400, "csrf_failed", message)
    return error_page(400, message)


def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.fields)


def _operation_error(error: OperationError):
    db.session.rollback()
    if is_api_request():
        return error_response(error.status, error.code, error.message, error.fields)
    return error_page(error.status, error.message)


def _unexpected_error(error: Exception):
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
    db.session.rollback()
    if current_app.testing and current_app.config.get("LMS_RAISE_ERRORS", True):
        raise error
    if is_api_request():
        return error_response(500, "internal_error", str(ERROR_MESSAGES[500][1]))
    return error_page(500)

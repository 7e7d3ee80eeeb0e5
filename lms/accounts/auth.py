"""Who is asking: the signed-in user from the session cookie, or from a bearer token on the API.
Registered on the app by :func:`init_app` (core knows only that somebody loads users).

A token that was found good is trusted by this process for ``LMS_TOKEN_CACHE_S`` seconds
(heartbeats come every 15 s from every viewer; looking the token and its user up each time is
most of their cost). A change to any token or user in this process (sign-out, password change,
deactivation) empties the cache at once; one made by another process is seen within that time.
"""

from __future__ import annotations

import functools
import hashlib
import time
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import attributes, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from lms.accounts.models import ApiToken, User
from lms.core.time import utcnow
from lms.extensions import db, login_manager

# (database URL, SHA-256 of the token) -> (trusted until, token's columns, user's columns)
_tokens: dict[tuple[str, str], tuple[float, dict[str, Any], dict[str, Any]]] = {}
_clock = time.monotonic


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_token)
    for model in (ApiToken, User):
        for name in ("after_update", "after_delete"):
            if not event.contains(model, name, _forget_tokens):
                event.listen(model, name, _forget_tokens)


def _forget_tokens(mapper, connection, target) -> None:
    """A token or user changed here: trust nothing cached (rare next to the lookups it saves)."""
    _tokens.clear()


def forget_token(digest: str) -> None:
    """Trust the token whose SHA-256 is *digest* no longer than now: another process found it
    revoked or expired (the next request checks it afresh)."""
    for key in [key for key in _tokens if key[1] == digest]:
        _tokens.pop(key, None)


def load_user(session_id: str) -> User | None:
    """The user of a session cookie (``<id>.<nonce>``; a new nonce signs every session out)."""
    if has_request_context() and "Authorization" in request.headers:
        return None  # a request that presents a token is judged by the token alone

    user_id, _sep, nonce = session_id.partition(".")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_nonce != nonce or not user.active:
        return None
    return user


def load_user_from_token(req) -> User | None:
    """The user of an ``Authorization: Bearer`` token; what was wrong with it goes to
    ``g.token_problem`` for the 401 answer."""
    header = req.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        if header:
            g.token_problem = _("登录凭据格式不正确，应为 Bearer 令牌")
        return None
    raw = raw.strip()
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], hashlib.sha256(raw.encode()).hexdigest())
    cached = _tokens.get(key)
    if cached is not None and cached[0] <= _clock():
        cached = None
    if cached is not None:
        token = _attach(ApiToken, cached[1])
        user = _attach(User, cached[2])
    else:
        token, user = _find_token_and_user(key[1])
    if token is None or token.revoked_at is not None or not user.active:
        g.token_problem = _("登录凭据无效，请重新登录")
        return None
    if token.expires_at <= utcnow():
        g.token_problem = _("登录已过期，请重新登录")
        return None
    ttl = current_app.config["LMS_TOKEN_CACHE_S"]
    if cached is None and ttl > 0:
        _tokens[key] = (_clock() + ttl, _columns(token), _columns(user))
    g.api_token = token
    return user


def _find_token_and_user(digest: str) -> tuple[ApiToken | None, User | None]:
    """The token whose stored SHA-256 is *digest* (as ``operations.issue_token`` stores it),
    and its user, in one read."""
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None:
        return None, None
    token, user = row
    attributes.set_committed_value(token, "user", user)
    return token, user


def _columns(instance: Any) -> dict[str, Any]:
    return {key: getattr(instance, key) for key in _column_keys(type(instance))}


@functools.cache
def _column_keys(model: type) -> tuple[str, ...]:
    return tuple(column.key for column in db.inspect(model).column_attrs)


def _attach(model: type, columns: dict[str, Any]) -> Any:
    """The row as if just loaded from *columns*, in this request's session, without a query.
    A copy the session already holds is that copy (what this transaction has seen)."""
    session = db.session()
    held = session.identity_map.get(identity_key(model, columns["id"]))
    if held is not None:
        return held
    instance = db.inspect(model).class_manager.new_instance()
    # What the loader does with a row: loaded values live in the instance's dict.
    instance.__dict__.update(columns)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance

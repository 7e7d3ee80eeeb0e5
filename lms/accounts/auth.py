"""Who is asking: the signed-in user from the session cookie, or from a bearer token on the API.
Registered on the app by :func:`init_app` (core knows only that somebody loads users).

A token that was found good is trusted by this process for ``LMS_TOKEN_CACHE_S`` seconds
(heartbeats come every 15 s from every viewer; looking the token and its user up each time is
most of their cost). A change to any token or user in this process (sign-out, password change,
deactivation) empties the cache at once; one made by another process is seen within that time.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import attributes, make_transient_to_detached

from lms.accounts.models import ApiToken, User
from lms.accounts.operations import find_token
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
        token = find_token(raw)
        user = token.user if token is not None else None
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


def _columns(instance: Any) -> dict[str, Any]:
    return {
        column.key: getattr(instance, column.key)
        for column in db.inspect(type(instance)).column_attrs
    }


def _attach(model: type, columns: dict[str, Any]) -> Any:
    """The row as if just loaded from *columns*, in this request's session, without a query."""
    instance = db.inspect(model).class_manager.new_instance()
    for key, value in columns.items():
        attributes.set_committed_value(instance, key, value)
    make_transient_to_detached(instance)
    return db.session.merge(instance, load=False)

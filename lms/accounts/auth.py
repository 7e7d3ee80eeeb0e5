"""Who is asking: the signed-in user from the session cookie, or from a bearer token on the API.
Registered on the app by :func:`init_app` (core knows only that somebody loads users)."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.operations import find_token
from lms.core.time import utcnow
from lms.extensions import db, login_manager


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_token)


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
    token = find_token(raw.strip())
    if token is None or token.revoked_at is not None or not token.user.active:
        g.token_problem = _("登录凭据无效，请重新登录")
        return None
    if token.expires_at <= utcnow():
        g.token_problem = _("登录已过期，请重新登录")
        return None
    g.api_token = token
    return token.user

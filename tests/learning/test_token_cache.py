"""Heartbeats trust a checked API token for a few seconds (lms/accounts/auth.py); signing out
or changing the password still revokes it: at once in this process, within those seconds from
another one."""

from __future__ import annotations

from sqlalchemy import update

from lms.accounts import auth
from lms.accounts.models import ApiToken
from lms.extensions import db
from tests.conftest import api_token


def me(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).status_code


def test_signing_out_revokes_a_cached_token_at_once(client, resident):
    headers = api_token(client, resident)
    assert me(client, headers) == 200
    assert me(client, headers) == 200  # from the cache
    token = db.session.scalar(db.select(ApiToken).filter_by(user_id=resident.id))
    token.revoked_at = db.func.now()  # what sign-out does, through the ORM
    db.session.commit()
    assert me(client, headers) == 401


def test_a_revocation_elsewhere_counts_within_the_cache_time(client, resident, monkeypatch):
    headers = api_token(client, resident)
    assert me(client, headers) == 200
    # Another process revokes it (no ORM event here): trusted for at most LMS_TOKEN_CACHE_S.
    db.session.execute(update(ApiToken).values(revoked_at=db.func.now()))
    db.session.commit()
    now = auth._clock()
    monkeypatch.setattr(
        auth, "_clock", lambda: now + client.application.config["LMS_TOKEN_CACHE_S"]
    )
    assert me(client, headers) == 401

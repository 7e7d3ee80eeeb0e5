"""Password hashing with argon2 (parameters upgraded transparently on sign-in).

The cost comes from ``LMS_ARGON2`` (argon2-cffi's defaults unless set; the tests use a cheap
setting so that building many accounts stays quick)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@cache
def _hasher(*settings: tuple[str, int]) -> PasswordHasher:
    return PasswordHasher(**dict(settings))


def hasher() -> PasswordHasher:
    return _hasher(*sorted(current_app.config["LMS_ARGON2"].items()))


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check *password*; with no hash (unknown phone) a dummy is checked so timing tells nothing."""
    try:
        return (
            hasher().verify(password_hash or dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def dummy_hash() -> str:
    return _dummy(hasher())


@cache
def _dummy(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password")

"""Password hashing with argon2 (parameters upgraded transparently on sign-in).

The cost comes from ``LMS_ARGON2`` (argon2-cffi's defaults unless set; the tests use a cheap
setting so that building many accounts stays quick)."""

from __future__ import annotations

import hashlib
import hmac
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
    if password_hash and password_hash.startswith(ONE_TIME_PREFIX):
        return _verify_one_time(password_hash, password)
    try:
        return (
            hasher().verify(password_hash or dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    if password_hash.startswith(ONE_TIME_PREFIX):
        return True
    return hasher().check_needs_rehash(password_hash)


def dummy_hash() -> str:
    return _dummy(hasher())


@cache
def _dummy(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password")


# One-time passwords ----------------------------------------------------------------------------
# Staff hand these out (代注册, a reset, an import): ten characters drawn at random from 31
# that cannot be misread (no 0/o, 1/l/i), about 49.5 bits. They live only until the person's
# first sign-in, where they must choose their own (hashed with argon2 at the full cost).
#
# They are stored as HMAC-SHA256 of a per-password salt and the password, keyed with a pepper
# derived from the data key (sealing.py: LMS_DATA_KEY or instance/data.key), which is not in the
# database. Why not argon2: the full cost is about 0.1-1 s a hash, so an import of 10,000
# residents would hash for between 17 minutes and 3 hours; argon2 exists to slow the guessing of
# passwords people choose, and these are random. A stolen database alone gives nothing to guess
# against (the pepper is elsewhere); with the pepper too, each password still needs about 2^48
# HMAC guesses on average, and it stops working at the first sign-in. verify_password
# recognises the format; needs_rehash says yes, so a sign-in stores an argon2 hash at once.
ONE_TIME_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ONE_TIME_LENGTH = 10
ONE_TIME_PREFIX = "$otp-hmac-sha256$"


def new_one_time_password() -> str:
    import secrets

    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))


def _pepper() -> bytes:
    from lms.accounts.sealing import data_key

    return hmac.new(data_key(), b"lms one-time password pepper", hashlib.sha256).digest()


def hash_one_time_password(password: str, *, pepper: bytes | None = None) -> str:
    import secrets

    salt = secrets.token_hex(16)
    digest = hmac.new(pepper or _pepper(), f"{salt}${password}".encode(), hashlib.sha256)
    return f"{ONE_TIME_PREFIX}{salt}${digest.hexdigest()}"


def one_time_pepper() -> bytes:
    """For hashing many one-time passwords in a row (an import) without deriving it each time."""
    return _pepper()


def _verify_one_time(password_hash: str, password: str) -> bool:
    salt, _sep, expected = password_hash.removeprefix(ONE_TIME_PREFIX).partition("$")
    digest = hmac.new(_pepper(), f"{salt}${password}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, expected)

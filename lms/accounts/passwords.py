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


# One-time passwords ----------------------------------------------------------------------------
# Staff hand these out (代注册, a reset, an import): ten characters drawn at random from 31
# that cannot be misread (no 0/o, 1/l/i), about 49.5 bits. They live only until the person's
# first sign-in (then they must choose their own, hashed at the full cost). Being random and not
# chosen by a person, they need no slow hash against guessing; they get argon2id at a small cost
# (one pass, at most 4 MiB) so that an import of 10,000 residents hashes in seconds rather than
# the quarter of an hour the full cost would take. An attacker holding the database still faces
# 2^49 memory-hard guesses per password. verify_password reads the cost from the hash itself,
# and a sign-in with one upgrades it (needs_rehash).
ONE_TIME_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ONE_TIME_LENGTH = 10


def new_one_time_password() -> str:
    import secrets

    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))


def one_time_hasher() -> PasswordHasher:
    settings = current_app.config["LMS_ARGON2"]
    memory = min(4096, settings.get("memory_cost", 4096))
    return _hasher(("memory_cost", memory), ("parallelism", 1), ("time_cost", 1))


def hash_one_time_password(password: str) -> str:
    return one_time_hasher().hash(password)

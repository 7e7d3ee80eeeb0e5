"""Personal data sealed at rest (DESIGN law 8): gender and ID-card numbers are stored encrypted
with Fernet (AES-128-CBC + HMAC-SHA256) under the data key: ``LMS_DATA_KEY`` (a Fernet key,
urlsafe base64 of 32 bytes) or ``data.key`` in the instance folder, generated on first use,
readable by the owner only. Losing the key loses those fields, nothing else."""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

KEY_FILE_NAME = "data.key"


def _key() -> bytes:
    key = current_app.extensions.get("lms_data_key")
    if key is None:
        key = current_app.extensions["lms_data_key"] = _load_key()
    return key


def data_key() -> bytes:
    """The raw data key (other secrets are derived from it, e.g. the one-time password pepper)."""
    return _key()


def _load_key() -> bytes:
    configured = current_app.config.get("LMS_DATA_KEY") or os.environ.get("LMS_DATA_KEY")
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    path = Path(current_app.instance_path) / KEY_FILE_NAME
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return _create_key_file(path)


def _create_key_file(path: Path) -> bytes:
    """Write a new key and link it into place; a process that loses the race reads the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)
    return path.read_bytes().strip()


@cache
def _fernet(key: bytes) -> Fernet:
    return Fernet(key)


def seal(value: str | None) -> str | None:
    """*value* encrypted (None and "" stay None)."""
    if not value:
        return None
    return _fernet(_key()).encrypt(value.encode()).decode("ascii")


def unseal(sealed: str | None) -> str | None:
    """The value of *sealed*; None when there is none or the key does not open it."""
    if not sealed:
        return None
    try:
        return _fernet(_key()).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None


def mask_id_number(value: str | None) -> str:
    """510521********123X: the region and the last four stay (what staff compare aloud)."""
    if not value:
        return ""
    return value[:6] + "*" * max(0, len(value) - 10) + value[-4:]

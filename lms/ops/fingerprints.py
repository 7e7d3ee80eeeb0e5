"""What a process is set up with, in a form that can be compared across machines without
showing a secret: the secret key, the data key, the queue's and database's addresses as salted
scrypt hashes; the signing key by its public key id; the media folder by the id written in it
(one shared volume has one id) and whether this process can write there."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app

VOLUME_ID_FILE = ".lms-volume-id"
# The settings every web server and worker must share (compared by ``lms doctor``), with the
# words that name them.
SHARED = {
    "secret": "LMS_SECRET_KEY (the secret key)",
    "data_key": "LMS_DATA_KEY (the data key file)",
    "transcript_key": "LMS_TRANSCRIPT_KEY_FILE (the transcript signing key)",
    "retired_keys": "LMS_RETIRED_KEY_DIR (the retired signing keys)",
    "database": "LMS_DATABASE_URL (the database)",
    "queue": "LMS_QUEUE_URL (the job queue)",
    "volume": "LMS_MEDIA_DIR (the shared media folder)",
}


def hashed(value: str | bytes, salt: str) -> str:
    """A slow salted hash (scrypt), so that a weak secret cannot be recovered from it."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.scrypt(
        data, salt=f"lms-fingerprint:{salt}".encode(), n=2**12, r=8, p=1, dklen=12
    ).hex()


def media_writable(root: Path) -> str | None:
    """None when this process can create and delete a file in *root*, else why not."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".lms-write-check."):
            pass
    except OSError as error:
        return f"{error.strerror or error} ({root})"
    return None


def volume_id(root: Path) -> str | None:
    """The id written in the media folder on first use (None when it cannot be read or made)."""
    path = root / VOLUME_ID_FILE
    with contextlib.suppress(OSError):
        return path.read_text().strip()
    with contextlib.suppress(OSError):
        fd, draft = tempfile.mkstemp(prefix=".lms-volume.", dir=root)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(8))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            os.unlink(draft)
        return path.read_text().strip()
    return None


def settings(salt: str) -> dict[str, Any]:
    """This process's settings: fingerprints salted with *salt*, plus the plain facts that are
    not secret (public address, cookies, proxies). Needs an application context."""
    from lms.accounts import sealing
    from lms.credits import signing

    config = current_app.config
    root = Path(config["LMS_MEDIA_DIR"])
    found: dict[str, Any] = {"salt": salt, "problems": []}
    found["secret"] = hashed(config["SECRET_KEY"], salt)
    found["database"] = hashed(config["SQLALCHEMY_DATABASE_URI"], salt)
    found["queue"] = hashed(config["LMS_QUEUE_URL"], salt)
    try:
        found["data_key"] = hashed(sealing.data_key(), salt)
    except OSError as error:
        found["data_key"] = None
        found["problems"].append(f"the data key cannot be read: {error}")
    try:
        found["transcript_key"] = signing.key_id(signing.signing_key().public_key())
    except (OSError, ValueError, TypeError) as error:
        found["transcript_key"] = None
        found["problems"].append(
            f"the transcript signing key {signing.key_file()} cannot be read: {error}"
        )
    found["retired_keys"] = ",".join(
        sorted(signing.key_id(key) for key in signing.retired_public_keys())
    )
    found["media_unwritable"] = media_writable(root)
    found["volume"] = volume_id(root)
    found["public_url"] = config.get("LMS_PUBLIC_URL") or None
    found["secure_cookies"] = bool(config.get("SESSION_COOKIE_SECURE"))
    found["proxy_count"] = int(config.get("LMS_PROXY_COUNT") or 0)
    found["accel_prefix"] = config.get("LMS_ACCEL_REDIRECT_PREFIX") or None
    return found

"""Where files live. Paths are built from ids and generated names, never from user input."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

from lms.core.jobs import on_rollback


def media_root() -> Path:
    return Path(current_app.config["LMS_MEDIA_DIR"])


def media_path(*parts: str) -> Path:
    """A path under the media folder; refuses anything that would climb out of it."""
    root = media_root().resolve()
    path = root.joinpath(*parts).resolve()
    if root not in path.parents:
        raise ValueError("path outside the media folder")
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write *data* to a temporary name beside *path*, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(draft, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def delete_file(relative: str) -> None:
    """Remove a file under the media folder if it is still there."""
    media_path(relative).unlink(missing_ok=True)


def discard_on_rollback(session, relative: str) -> None:
    """Delete *relative* again if *session* rolls back, so a failed save leaves no file."""
    on_rollback(session, delete_file, relative)

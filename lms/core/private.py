"""Files only the server's own user can read: the instance folder holds password hashes, token
digests, phone numbers and signing keys."""

from __future__ import annotations

from pathlib import Path


def make_private(path: Path) -> None:
    """Owner-only, whatever the umask: 0600 for a file; 0700 for a folder and everything in it
    (the instance folder holds password hashes, token digests, phones and keys)."""
    if path.is_dir():
        path.chmod(0o700)
        for inner in path.rglob("*"):
            if not inner.is_symlink():
                inner.chmod(0o700 if inner.is_dir() else 0o600)
    elif path.is_file():
        path.chmod(0o600)


def make_private_database(path: Path) -> None:
    """An SQLite file and its WAL and shared-memory files, owner-only."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        make_private(path.with_name(path.name + suffix))

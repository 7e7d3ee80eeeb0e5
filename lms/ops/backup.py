"""``lms backup`` and ``lms restore``: one archive (a tar file) with a consistent copy of the
database (SQLite's online backup, or ``pg_dump``), the media folder (or only a list of its files
with their SHA-256, for a separate file backup), the ledger checkpoints folder, and the
instance's keys (secret key, data key, transcript signing key and the retired ones) encrypted
with a passphrase (scrypt, then Fernet). ``manifest.json``, written last, names every member
with its SHA-256.

A restore checks everything before it writes anything: the archive whole and every checksum
right, the passphrase right, the target instance empty (no tables, no media, no other keys);
then the database, keys, media and checkpoints go into place and the search index is rebuilt."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from lms.extensions import db
from lms.ops.fingerprints import VOLUME_ID_FILE

FORMAT = "lms-backup/1"
MANIFEST = "manifest.json"
KEYS = "keys.enc"
SCRYPT_N = 2**15
# Files of the media folder that belong to the machine, not to the site.
MACHINE_FILES = {VOLUME_ID_FILE}


class BackupError(Exception):
    """A backup or restore refused, with the reason in plain words."""


# Where things are ---------------------------------------------------------------------------


def database_kind() -> str:
    backend = db.engine.url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {backend} database (SQLite or PostgreSQL only)")
    return backend


def media_root() -> Path:
    return Path(current_app.config["LMS_MEDIA_DIR"])


def checkpoint_dir() -> Path:
    configured = current_app.config.get("LMS_CHECKPOINT_DIR")
    return Path(configured or Path(current_app.instance_path) / "ledger-checkpoints")


def site_files(root: Path) -> list[Path]:
    """The files under *root* that belong to the site (sorted; scratch and machine files out)."""
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or path.is_symlink() or str(relative) in MACHINE_FILES:
            continue
        if any(part.startswith(".") and part.endswith((".tmp", ".old")) for part in relative.parts):
            continue  # a transcode in progress or an old rendition set about to go
        if relative.name.startswith(".lms-write-check."):
            continue
        found.append(path)
    return found


# Keys ---------------------------------------------------------------------------------------


def _fernet(passphrase: str, salt: bytes, n: int = SCRYPT_N) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def current_keys() -> dict:
    from lms.accounts import sealing
    from lms.credits import signing

    signing.signing_key()  # made on first use: a new site's backup still carries one
    retired = signing.retired_key_dir()
    return {
        "secret_key": current_app.config["SECRET_KEY"],
        "data_key": sealing.data_key().decode(),
        "transcript_key": signing.key_file().read_text(),
        "retired_keys": {path.name: path.read_text() for path in sorted(retired.glob("*.pem"))}
        if retired.is_dir()
        else {},
    }


def seal_keys(keys: dict, passphrase: str) -> bytes:
    salt = os.urandom(16)
    token = _fernet(passphrase, salt).encrypt(json.dumps(keys).encode())
    return json.dumps(
        {
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "salt": base64.b64encode(salt).decode(),
            "token": token.decode(),
        }
    ).encode()


def open_keys(sealed: bytes, passphrase: str) -> dict:
    try:
        box = json.loads(sealed)
        fernet = _fernet(passphrase, base64.b64decode(box["salt"]), int(box["n"]))
        return json.loads(fernet.decrypt(box["token"].encode()))
    except InvalidToken:
        raise BackupError(
            "wrong passphrase: the keys in the archive cannot be opened with it "
            "(nothing was restored)"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(
            f"the archive's keys are damaged ({error}); nothing was restored"
        ) from None


# Backup -------------------------------------------------------------------------------------


class _Hashing(io.RawIOBase):
    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.sha = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha.update(data)
        return data


@dataclass
class BackupResult:
    path: Path
    size: int
    media_files: int
    media_included: bool
    seconds: float


def _add_file(tar: tarfile.TarFile, name: str, path: Path, sums: dict[str, str]) -> str:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        hashing = _Hashing(handle)
        tar.addfile(info, hashing)
    sums[name] = hashing.sha.hexdigest()
    return sums[name]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, sums: dict[str, str]) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(data))
    sums[name] = hashlib.sha256(data).hexdigest()


def _dump_database(kind: str, target: Path) -> None:
    if kind == "sqlite":
        source = sqlite3.connect(db.engine.url.database)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # the online backup API: a consistent copy while others write
        finally:
            copy.close()
            source.close()
        return
    url = db.engine.url
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is missing (Debian package postgresql-client)")
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", plain],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")


def _revision() -> str | None:
    with contextlib.suppress(Exception), db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None


def backup(archive: Path, passphrase: str, *, include_media: bool = True) -> BackupResult:
    """Write the archive (under a temporary name, renamed into place when complete)."""
    started = time.monotonic()
    if not passphrase:
        raise BackupError("a passphrase is needed to encrypt the keys")
    if archive.exists():
        raise BackupError(f"{archive} exists already; give a new file name")
    kind = database_kind()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.partial")
    sums: dict[str, str] = {}
    media_list = []
    try:
        with tempfile.TemporaryDirectory(prefix="lms-backup-") as scratch:
            dump = Path(scratch) / "database"
            _dump_database(kind, dump)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                name = "database.sqlite3" if kind == "sqlite" else "database.pgdump"
                _add_file(tar, name, dump, sums)
                _add_bytes(tar, KEYS, seal_keys(current_keys(), passphrase), sums)
                root = media_root()
                for path in site_files(root):
                    relative = path.relative_to(root).as_posix()
                    if include_media:
                        digest = _add_file(tar, f"media/{relative}", path, sums)
                    else:
                        digest = _sha256_file(path)
                    media_list.append(
                        {"path": relative, "size": path.stat().st_size, "sha256": digest}
                    )
                for path in site_files(checkpoint_dir()):
                    relative = path.relative_to(checkpoint_dir()).as_posix()
                    _add_file(tar, f"checkpoints/{relative}", path, sums)
                manifest = {
                    "format": FORMAT,
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "database": kind,
                    "revision": _revision(),
                    "media": "included" if include_media else "listed",
                    "media_files": media_list,
                    "members": sums,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode(), {})
                raw.flush()
                os.fsync(raw.fileno())
        os.link(partial, archive)  # never over an existing file
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupResult(
        archive, archive.stat().st_size, len(media_list), include_media, time.monotonic() - started
    )


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


# Restore ------------------------------------------------------------------------------------


@dataclass
class Staged:
    folder: Path
    manifest: dict
    keys: dict


def stage(archive: Path, passphrase: str, folder: Path) -> Staged:
    """Unpack *archive* into *folder*, checking every member's checksum and the passphrase."""
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file")
    seen: dict[str, str] = {}
    manifest = None
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                name = member.name
                if not member.isfile() or name.startswith("/") or ".." in Path(name).parts:
                    raise BackupError(f"the archive holds an unexpected entry {name!r}")
                source = tar.extractfile(member)
                if name == MANIFEST:
                    manifest = json.loads(source.read())
                    continue
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    hashing = _Hashing(source)
                    shutil.copyfileobj(hashing, out, 1 << 20)
                seen[name] = hashing.sha.hexdigest()
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise BackupError(
            f"{archive} is damaged or incomplete ({error}); nothing was restored"
        ) from None
    if manifest is None or manifest.get("format") != FORMAT:
        raise BackupError(
            f"{archive} is incomplete or not an lms backup (its manifest is missing); "
            "nothing was restored"
        )
    expected = manifest["members"]
    wrong = sorted(name for name in expected if seen.get(name) != expected[name])
    if wrong:
        raise BackupError(
            f"{archive} is damaged: {len(wrong)} file(s) missing or altered "
            f"(first: {wrong[0]}); nothing was restored"
        )
    keys = open_keys((folder / KEYS).read_bytes(), passphrase)
    return Staged(folder, manifest, keys)


def _not_empty() -> list[str]:
    """What already lives in this instance (a restore goes only into an empty one)."""
    from lms.accounts import sealing
    from lms.credits import signing

    found = []
    tables = inspect(db.engine).get_table_names()
    if tables:
        found.append(f"the database has {len(tables)} tables")
    if site_files(media_root()):
        found.append(f"the media folder {media_root()} has files")
    if site_files(checkpoint_dir()):
        found.append(f"the checkpoint folder {checkpoint_dir()} has files")
    if signing.key_file().exists():
        found.append(f"a transcript signing key exists at {signing.key_file()}")
    if (Path(current_app.instance_path) / sealing.KEY_FILE_NAME).exists():
        found.append("a data key exists in the instance folder")
    return found


def restore(archive: Path, passphrase: str) -> list[str]:
    """Bring *archive* back into this (empty) instance. Returns notes for the operator."""
    from lms.accounts import sealing
    from lms.credits import signing

    kind = database_kind()
    with tempfile.TemporaryDirectory(prefix="lms-restore-") as scratch:
        staged = stage(archive, passphrase, Path(scratch))
        manifest, keys = staged.manifest, staged.keys
        if manifest["database"] != kind:
            raise BackupError(
                f"the archive holds a {manifest['database']} database and this instance uses "
                f"{kind}; restore into the same kind"
            )
        occupied = _not_empty()
        if occupied:
            raise BackupError(
                "this instance is not empty (" + "; ".join(occupied) + "): a restore goes only "
                "into a new instance, so that nothing here is overwritten"
            )
        configured_data_key = current_app.config.get("LMS_DATA_KEY") or os.environ.get(
            "LMS_DATA_KEY"
        )
        if configured_data_key and configured_data_key != keys["data_key"]:
            raise BackupError(
                "LMS_DATA_KEY is set to a different key from the archive's: ID numbers would "
                "be unreadable; unset it or set it to the backed-up key"
            )
        if manifest["media"] == "listed":
            _check_listed_media(manifest["media_files"])

        notes = []
        _restore_database(kind, staged.folder)
        _write_key(signing.key_file(), keys["transcript_key"])
        if not configured_data_key:
            _write_key(Path(current_app.instance_path) / sealing.KEY_FILE_NAME, keys["data_key"])
        retired = signing.retired_key_dir()
        for name, pem in keys["retired_keys"].items():
            _write_key(retired / name, pem)
        if os.environ.get("LMS_SECRET_KEY"):
            if os.environ["LMS_SECRET_KEY"] != keys["secret_key"]:
                notes.append(
                    "LMS_SECRET_KEY differs from the backed-up one: everyone is signed out "
                    "(set it to the old value to keep their sessions)"
                )
        else:
            path = Path(current_app.instance_path) / "secret_key"
            path.unlink(missing_ok=True)
            _write_key(path, keys["secret_key"])
        if manifest["media"] == "included":
            _move_tree(staged.folder / "media", media_root())
        _move_tree(staged.folder / "checkpoints", checkpoint_dir())
    current_app.extensions.pop("lms_data_key", None)
    _rebuild_search(notes)
    return notes


def _check_listed_media(listed: list[dict]) -> None:
    root = media_root()
    wrong = [
        item["path"]
        for item in listed
        if not (root / item["path"]).is_file()
        or _sha256_file(root / item["path"]) != item["sha256"]
    ]
    if wrong:
        raise BackupError(
            f"the archive lists the media files without their contents, and {len(wrong)} of "
            f"them are missing or different in {root} (first: {wrong[0]}); copy the media "
            "backup there first"
        )


def _restore_database(kind: str, folder: Path) -> None:
    if kind == "sqlite":
        target = Path(db.engine.url.database)
        db.engine.dispose()
        for leftover in ("-wal", "-shm", "-journal"):  # the empty database's, not the backup's
            target.with_name(target.name + leftover).unlink(missing_ok=True)
        draft = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(folder / "database.sqlite3", draft)
        os.chmod(draft, 0o600)
        os.replace(draft, target)
        db.engine.dispose()
        return
    url = make_url(str(db.engine.url.render_as_string(hide_password=False)))
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore is missing (Debian package postgresql-client)")
    db.engine.dispose()
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={plain}",
            str(folder / "database.pgdump"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was kept): {done.stderr.strip()}")


def _write_key(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


def _move_tree(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, destination)


def _rebuild_search(notes: list[str]) -> None:
    try:
        from lms.search.index import rebuild

        rebuild()
    except Exception as error:  # the site works without it; say how to make it again
        notes.append(f"the search index was not rebuilt ({error}): run `lms search reindex`")

"""``lms doctor``, ``lms backup`` and ``lms restore``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from lms.ops import models  # noqa: F401  (the worker_beats table)


@click.command("doctor")
@click.option(
    "--server",
    "servers",
    multiple=True,
    metavar="URL",
    help="An app server's own address (not nginx's), e.g. http://10.0.0.5:8000; repeatable. "
    "Default: LMS_APP_SERVERS (separated by commas or spaces).",
)
@with_appcontext
def doctor(servers: tuple[str, ...]) -> None:
    """Check this deployment's configuration: database, queue, workers' heartbeats, ffmpeg,
    the media folder, the keys (the same everywhere), the public address and secure cookies.
    Prints what is wrong in plain words and exits 1 when anything is."""
    from lms.ops.doctor import run

    named = list(servers) or os.environ.get("LMS_APP_SERVERS", "").replace(",", " ").split()
    report = run(named)
    for good, message in report.lines:
        click.echo(f"{'ok     ' if good else 'PROBLEM'} {message}")
    problems = report.problems
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("No problems found.")


def _passphrase(path: str | None, *, confirm: bool) -> str:
    if path:
        return Path(path).read_text().rstrip("\n")
    if os.environ.get("LMS_BACKUP_PASSPHRASE"):
        return os.environ["LMS_BACKUP_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise click.ClickException(
            "no passphrase: give --passphrase-file or set LMS_BACKUP_PASSPHRASE"
        )
    return click.prompt("Passphrase for the keys", hide_input=True, confirmation_prompt=confirm)


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase that encrypts the keys from this file "
    "(default: LMS_BACKUP_PASSPHRASE, or ask).",
)
@click.option(
    "--media-list",
    is_flag=True,
    help="Put only a list of the media files with their SHA-256 in the archive "
    "(back the folder up separately).",
)
@with_appcontext
def backup(archive: Path, passphrase_file: str | None, media_list: bool) -> None:
    """Write one archive: the database (a consistent copy), the media folder, the ledger
    checkpoints and the keys (encrypted with a passphrase)."""
    from lms.ops.backup import BackupError
    from lms.ops.backup import backup as make_backup

    passphrase = _passphrase(passphrase_file, confirm=True)
    try:
        result = make_backup(archive, passphrase, include_media=not media_list)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    media = "included" if result.media_included else "listed with their SHA-256"
    click.echo(
        f"wrote {result.path} ({result.size / 1e6:.1f} MB, {result.media_files} media files "
        f"{media}) in {result.seconds:.1f} s"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase from this file (default: LMS_BACKUP_PASSPHRASE, or ask).",
)
@with_appcontext
def restore(archive: Path, passphrase_file: str | None) -> None:
    """Bring a backup back into a new, empty instance (database, keys, media, checkpoints),
    then rebuild the search index. Refuses a damaged archive, a wrong passphrase and an
    instance that is not empty, and then changes nothing."""
    from lms.ops.backup import BackupError
    from lms.ops.backup import restore as bring_back

    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        notes = bring_back(archive, passphrase)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    for note in notes:
        click.echo(f"note: {note}")
    click.echo(
        f"restored {archive}; run `lms db upgrade` if this release is newer than the backup's, "
        "then `lms credits verify-ledger`"
    )

"""``lms credits …``: the credit bank (学分银行)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from lms.credits import checkpoints, signing
from lms.credits.checks import verify_ledger
from lms.credits.models import CreditAccount
from lms.credits.operations import open_missing_accounts
from lms.credits.tasks import make_checkpoint_now
from lms.extensions import db


@click.group("credits")
def group() -> None:
    """The credit bank (学分银行)."""


@group.command("verify-ledger")
@click.option(
    "--checkpoint",
    "given",
    multiple=True,
    metavar="FILE_OR_URL",
    help="Also check against this signed checkpoint (a checkpoint-NNNNNN.json file with its "
    ".leaves.gz beside it, or its address, e.g. the one a transcript names). Repeatable.",
)
@with_appcontext
def credits_verify_ledger(given: tuple[str, ...]) -> None:
    """Check every account's hash chain, running balances and cached totals, then every chain
    against every signed checkpoint (the database's, the checkpoint folder's and any given).
    Prints the first broken entry of each broken account, each chain shorter than or different
    from a checkpoint, each checkpoint refused, and exits non-zero when there is any."""
    total = db.session.scalar(select(func.count(CreditAccount.id)))
    with click.progressbar(length=total, label="checking accounts", file=sys.stderr) as bar:
        report = verify_ledger(progress=bar.update)
    for problem in report.broken:
        click.echo(
            f"BROKEN account {problem.account_no} (id {problem.account_id}): "
            f"entry id={problem.entry_id} seq={problem.seq}: {problem.problem}",
            err=True,
        )
    click.echo(
        f"{report.accounts} accounts, {report.entries} entries checked, "
        f"{len(report.broken)} broken."
    )
    extra, refused = [], []
    for where in given:
        try:
            extra.append(checkpoints.given_source(where))
        except checkpoints.BadCheckpoint as error:
            refused.append(f"checkpoint {where} refused: {error}")
    against = checkpoints.check_all(extra)
    for message in refused + [problem.message for problem in against.problems]:
        click.echo(f"BROKEN {message}", err=True)
    for warning in against.warnings:
        click.echo(f"warning: {warning}", err=True)
    numbers = against.checkpoints
    click.echo(
        f"{len(numbers)} checkpoints checked"
        + (f" (latest {numbers[-1]})" if numbers else "")
        + f", {len(refused) + len(against.problems)} problems."
    )
    if report.broken or refused or against.problems:
        sys.exit(1)


@group.command("checkpoint")
@with_appcontext
def credits_checkpoint() -> None:
    """Sign the head of every account's chain now (the worker does it every night) and write
    it to the database and the checkpoint folder."""
    number = make_checkpoint_now()
    if number is None:
        click.echo("another checkpoint is being made; try again shortly", err=True)
        sys.exit(1)
    click.echo(f"checkpoint {number} written to the database and {checkpoints.folder()}")


@group.command("open-accounts")
@with_appcontext
def credits_open_accounts() -> None:
    """Open a credit account for every resident who has none (accounts opened before the
    credit bank existed)."""
    opened = open_missing_accounts()
    db.session.commit()
    click.echo(f"{opened} accounts opened.")


@group.command("rotate-key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def credits_rotate_key(yes: bool) -> None:
    """Start signing transcripts and credentials with a new key. The old key's public half is
    kept among the retired keys (and in the DID document), so everything it signed keeps
    verifying; its private half is deleted."""
    if not yes:
        click.confirm("Retire the current signing key and create a new one?", abort=True)
    old, new = signing.rotate_key()
    click.echo(f"retired key {old}; now signing with {new}")

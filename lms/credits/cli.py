"""``lms credits …``: the credit bank (学分银行)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from lms.credits import signing
from lms.credits.checks import verify_ledger
from lms.credits.models import CreditAccount
from lms.credits.operations import open_missing_accounts
from lms.extensions import db


@click.group("credits")
def group() -> None:
    """The credit bank (学分银行)."""


@group.command("verify-ledger")
@with_appcontext
def credits_verify_ledger() -> None:
    """Check every account's hash chain, running balances and cached totals. Prints the first
    broken entry of each broken account and exits non-zero when any is broken."""
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
    if report.broken:
        sys.exit(1)


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

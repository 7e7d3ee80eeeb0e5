"""The ``lms`` command: Flask's commands (run, shell, routes, db …) plus one group per feature."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from lms import create_app

    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    help="泸县城乡居民终身学习网 — management commands.",
)
def main() -> None:
    """Entry point of the ``lms`` console script."""


def init_app(app) -> None:
    """Attach the feature commands to the app (FlaskGroup shows the app's commands)."""
    for command in (demo, accounts, worker, media, search, credits):
        app.cli.add_command(command)


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
@with_appcontext
def demo_load() -> None:
    """Load the demo county (does nothing on a database that already has data)."""
    from lms.demo import load_demo

    load_demo(echo=click.echo)


@click.group()
def accounts() -> None:
    """Accounts and roles."""


@accounts.command("create")
@click.option("--phone", required=True, help="11-digit mainland mobile number (the login).")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role",
    type=click.Choice(["resident", "teacher", "admin", "registrar"]),
    default="resident",
    show_default=True,
)
@click.option("--unit", help="Org unit (code or name) the role covers; default: the county.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def accounts_create(
    phone: str, name: str, role: str, unit: str | None, password_stdin: bool
) -> None:
    """Create an account (or grant the role to an existing one)."""
    from sqlalchemy import or_, select

    from lms.accounts import operations
    from lms.accounts.models import OrgUnit, Role, User
    from lms.accounts.validation import normalize_phone
    from lms.core.errors import OperationError
    from lms.extensions import db

    if unit:
        found = db.session.scalars(
            select(OrgUnit).where(or_(OrgUnit.code == unit, OrgUnit.name == unit))
        ).all()
        if len(found) != 1:
            raise click.ClickException(
                f"no single org unit is called {unit!r} ({len(found)} found)"
            )
        org_unit = found[0]
    else:
        org_unit = db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
        if org_unit is None:
            raise click.ClickException(
                "the org tree is empty: run `lms demo load` or create units first"
            )
    try:
        phone = normalize_phone(phone)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    existing = db.session.scalar(select(User).filter_by(phone=phone))
    if existing is not None:
        operations.grant_role(None, existing, Role(role), org_unit)
        db.session.commit()
        click.echo(
            f"granted {role} over {org_unit.name} to existing account {existing.masked_phone}"
        )
        return
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    roles = (Role(role),) if role == "resident" else (Role.RESIDENT, Role(role))
    try:
        user = operations.create_user(
            phone=phone, name=name, password=password, org_unit=org_unit, roles=roles
        )
    except OperationError as error:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items()) or error.message
        raise click.ClickException(details) from None
    db.session.commit()
    click.echo(f"created {role} {user.name} ({user.phone}) over {org_unit.name}")


@click.group()
def media() -> None:
    """Media assets and transcoding."""


@media.command("retranscode")
@click.argument("asset_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every asset that is ready or failed.")
@with_appcontext
def media_retranscode(asset_ids: tuple[int, ...], every: bool) -> None:
    """Transcode assets again (by id, or --all); the worker does the work."""
    from sqlalchemy import select

    from lms.core.errors import OperationError
    from lms.extensions import db
    from lms.media.models import MediaAsset, MediaStatus
    from lms.media.operations import retry_asset

    if not asset_ids and not every:
        raise click.UsageError("name asset ids, or --all")
    query = select(MediaAsset).order_by(MediaAsset.id)
    if every:
        query = query.where(MediaAsset.status.in_([MediaStatus.READY, MediaStatus.FAILED]))
    else:
        query = query.where(MediaAsset.id.in_(asset_ids))
    assets = db.session.scalars(query).all()
    missing = set(asset_ids) - {asset.id for asset in assets}
    if missing:
        raise click.ClickException(f"no such asset: {', '.join(map(str, sorted(missing)))}")
    with click.progressbar(assets, label="queueing") as bar:
        for asset in bar:
            try:
                retry_asset(asset)
            except OperationError as error:
                click.echo(f"\nasset {asset.id}: {error.message}")
    db.session.commit()
    click.echo(f"queued {len(assets)} asset(s); `lms worker` transcodes them")


@click.group()
def search() -> None:
    """The search index."""


@search.command("reindex")
@with_appcontext
def search_reindex() -> None:
    """Rebuild the index from the database into a new folder and swap it in; searches go on
    using the old index until the new one is in place."""
    from lms.search.index import rebuild

    def progress(courses, total):
        with click.progressbar(courses, length=total, label="indexing courses") as bar:
            yield from bar

    count = rebuild(progress=progress)
    click.echo(f"indexed {count} published course(s) into {current_app.config['LMS_SEARCH_DIR']}")


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker(workers: int) -> None:
    """Run the background job consumer (transcoding, indexing, file clean-up …)."""
    import logging

    from lms.core.jobs import huey

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    click.echo(f"worker: queue at {current_app.config['LMS_QUEUE_URL']}, {workers} thread(s)")
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    )
    consumer.run()


@click.group()
def credits() -> None:
    """The credit bank (学分银行)."""


@credits.command("verify-ledger")
@with_appcontext
def credits_verify_ledger() -> None:
    """Check every account's hash chain, running balances and cached totals. Prints the first
    broken entry of each broken account and exits non-zero when any is broken."""
    from sqlalchemy import func, select

    from lms.credits.checks import verify_ledger
    from lms.credits.models import CreditAccount
    from lms.extensions import db

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


@credits.command("open-accounts")
@with_appcontext
def credits_open_accounts() -> None:
    """Open a credit account for every resident who has none (accounts opened before the
    credit bank existed)."""
    from lms.credits.operations import open_missing_accounts
    from lms.extensions import db

    opened = open_missing_accounts()
    db.session.commit()
    click.echo(f"{opened} accounts opened.")


if __name__ == "__main__":
    main()

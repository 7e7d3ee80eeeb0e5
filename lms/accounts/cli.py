"""``lms accounts …``: accounts and roles from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from lms.accounts import operations
from lms.accounts.models import OrgUnit, Role, User
from lms.accounts.validation import normalize_phone
from lms.core.errors import OperationError
from lms.extensions import db


@click.group("accounts")
def group() -> None:
    """Accounts and roles."""


@group.command("create")
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

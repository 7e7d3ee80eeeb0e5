"""Who may do what in search: anyone searches; county administrators keep the dictionary."""

from __future__ import annotations

from flask import abort

from lms.accounts import access as accounts_access
from lms.accounts.models import User


def can_edit_dictionary(user: User) -> bool:
    return accounts_access.is_county_admin(user)


def ensure_can_edit_dictionary(user: User) -> None:
    if not can_edit_dictionary(user):
        abort(403)

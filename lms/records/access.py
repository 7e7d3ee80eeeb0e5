"""Who may read whose learning file: the resident their own; administrators and registrars
those of the residents in their scope; nobody else."""

from __future__ import annotations

from flask import abort

from lms.accounts.access import has_role_over
from lms.accounts.models import Role, User
from lms.extensions import db


def can_view_file(viewer: User, resident: User) -> bool:
    if not viewer.is_authenticated:
        return False
    return viewer.id == resident.id or any(
        has_role_over(viewer, role, resident.org_unit) for role in (Role.ADMIN, Role.REGISTRAR)
    )


def get_holder_or_404(user_id: int | None, viewer: User) -> User:
    """The resident whose file is asked for: *viewer* themself when *user_id* is None, else
    someone in *viewer*'s scope (404 for anyone else)."""
    if user_id is None:
        return viewer
    resident = db.session.get(User, user_id)
    if resident is None or not can_view_file(viewer, resident):
        abort(404)
    return resident

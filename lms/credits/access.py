"""Who may see and change what in the credit bank. Registrars (学分银行专员) act over the
residents whose home unit lies in their scope; county registrars also keep the rules.
Administrators and registrars may read the learning files of residents in their scope."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from lms.accounts.access import grant_units, has_role_over, within
from lms.accounts.models import OrgUnit, Role, User
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeKind, OutcomeStatus
from lms.extensions import db


def registrar_units(user: User) -> list[OrgUnit]:
    return grant_units(user, Role.REGISTRAR)


def is_registrar(user: User) -> bool:
    return bool(registrar_units(user))


def can_keep_rules(user: User) -> bool:
    return any(unit.parent_id is None for unit in registrar_units(user))


def can_certify(user: User, outcome: LearningOutcome) -> bool:
    return has_role_over(user, Role.REGISTRAR, outcome.user.org_unit)


def can_reverse(user: User, entry: LedgerEntry) -> bool:
    return has_role_over(user, Role.REGISTRAR, entry.account.user.org_unit)


def certifying_unit(registrar: User, resident: User) -> OrgUnit:
    """The registrar's unit nearest the resident: the one named on the certificate."""
    scopes = [unit for unit in registrar_units(registrar) if unit.contains(resident.org_unit)]
    return max(scopes, key=lambda unit: len(unit.path))


def can_view_file(viewer: User, resident: User) -> bool:
    """A resident sees their own learning file; administrators and registrars those of the
    residents in their scope; nobody else."""
    if not viewer.is_authenticated:
        return False
    return viewer.id == resident.id or any(
        has_role_over(viewer, role, resident.org_unit) for role in (Role.ADMIN, Role.REGISTRAR)
    )


def can_view_outcome(viewer: User, outcome: LearningOutcome) -> bool:
    return viewer.is_authenticated and (
        viewer.id == outcome.user_id or has_role_over(viewer, Role.REGISTRAR, outcome.user.org_unit)
    )


def get_outcome_or_404(outcome_id: int, viewer: User) -> LearningOutcome:
    outcome = db.session.get(LearningOutcome, outcome_id)
    if outcome is None or not can_view_outcome(viewer, outcome):
        abort(404)
    return outcome


def get_entry_or_404(entry_id: int, viewer: User) -> LedgerEntry:
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or not (viewer.id == entry.account.user_id or can_reverse(viewer, entry)):
        abort(404)
    return entry


def get_resident_or_404(user_id: int, viewer: User) -> User:
    resident = db.session.get(User, user_id)
    if resident is None or not can_view_file(viewer, resident):
        abort(404)
    return resident


def county_unit() -> OrgUnit | None:
    """The root of the org tree: the county, whose community-education college issues
    transcripts."""
    return db.session.scalar(
        select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id)
    )


def review_queue(
    registrar: User, status: OutcomeStatus, *, limit: int = 500
) -> list[LearningOutcome]:
    """Offline outcomes of residents in the registrar's scope with *status*, oldest first."""
    scopes = registrar_units(registrar)
    return list(
        db.session.scalars(
            select(LearningOutcome)
            .join(User, LearningOutcome.user_id == User.id)
            .join(OrgUnit, User.org_unit_id == OrgUnit.id)
            .where(
                LearningOutcome.status == status,
                LearningOutcome.kind != OutcomeKind.ONLINE_COURSE,
                within(scopes, OrgUnit.path),
            )
            .order_by(LearningOutcome.id)
            .limit(limit)
        )
    )

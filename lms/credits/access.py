"""Who may see and change what in the credit bank. Registrars (学分银行专员) act over the
residents whose home unit lies in their scope; county registrars also keep the rules.

The loaders here are the one door for pages, the API and commands alike: they answer 404 for
what the caller may not know exists and 403 (with the reason) for what they may see but not do.
"""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.access import grant_units, has_role_over, is_county_admin, within
from lms.accounts.models import OrgUnit, Role, User
from lms.courses import access as courses_access
from lms.courses.models import Course, CourseStatus
from lms.credits import verification
from lms.credits.models import (
    ConversionRule,
    LearningOutcome,
    LedgerEntry,
    OutcomeEvidence,
    OutcomeKind,
    OutcomeStatus,
    Transcript,
    TrustedIssuer,
)
from lms.extensions import db

# Questions ------------------------------------------------------------------------------------


def registrar_units(user: User) -> list[OrgUnit]:
    return grant_units(user, Role.REGISTRAR)


def is_registrar(user: User) -> bool:
    return bool(registrar_units(user))


def can_keep_rules(user: User) -> bool:
    return any(unit.parent_id is None for unit in registrar_units(user))


def can_manage_account(user: User, resident: User) -> bool:
    """A registrar over the resident's home unit: reads their account, certifies, reverses."""
    return has_role_over(user, Role.REGISTRAR, resident.org_unit)


def can_certify(user: User, outcome: LearningOutcome) -> bool:
    return can_manage_account(user, outcome.user)


def can_reverse(user: User, entry: LedgerEntry) -> bool:
    return can_manage_account(user, entry.account.user)


def can_certify_course_hours(user: User, course: Course) -> bool:
    """A registrar of the course's provider unit or above (whether they teach it is the
    operation's rule, so that every caller is refused the same way)."""
    return has_role_over(user, Role.REGISTRAR, course.provider)


def certifying_unit(registrar: User, resident: User) -> OrgUnit | None:
    """The registrar's unit nearest the resident: the one named on the certificate (None when
    none of the registrar's units holds the resident)."""
    scopes = [unit for unit in registrar_units(registrar) if unit.contains(resident.org_unit)]
    return max(scopes, key=lambda unit: len(unit.path)) if scopes else None


def can_view_outcome(viewer: User, outcome: LearningOutcome) -> bool:
    return viewer.is_authenticated and (
        viewer.id == outcome.user_id or can_certify(viewer, outcome)
    )


# Gates and loaders ----------------------------------------------------------------------------


def require_registrar(viewer: User) -> None:
    """The registrars' pages and lists: 403 for anyone else."""
    if not is_registrar(viewer):
        abort(403, _("您不是学分银行专员"))


def can_make_checkpoint(user: User) -> bool:
    """Ledger checkpoints on demand: county registrars and county administrators."""
    return user.is_authenticated and (can_keep_rules(user) or is_county_admin(user))


def require_checkpoint_maker(viewer: User) -> None:
    if not can_make_checkpoint(viewer):
        abort(403, _("只有县级学分银行专员或县级管理员可以生成账本检查点"))


def require_trust_keeper(viewer: User) -> None:
    """Keeping the list of trusted issuers (学分互认): county registrars only."""
    if not can_keep_rules(viewer):
        abort(403, _("只有县级学分银行专员可以维护互认的可信单位名单"))


def require_rule_keeper(viewer: User) -> None:
    """Publishing, changing and retiring conversion rules: county registrars only."""
    if not can_keep_rules(viewer):
        abort(403, _("只有县级学分银行专员可以维护折算规则"))


def get_outcome_or_404(
    outcome_id: int, viewer: User, *, to_decide: bool = False
) -> LearningOutcome:
    """The outcome, if *viewer* may see it (its resident, or a registrar over them); with
    *to_decide*, 403 unless *viewer* may certify or reject it."""
    outcome = db.session.get(LearningOutcome, outcome_id)
    if outcome is None or not can_view_outcome(viewer, outcome):
        abort(404)
    if to_decide and not can_certify(viewer, outcome):
        abort(403, _("您无权审核这位居民的学习成果"))
    return outcome


def get_course_for_hours_or_404(course_id: int, viewer: User) -> Course:
    """A course whose 学时 *viewer* would certify: 404 when they may not know it exists, 403
    (with the reason) when they see it but it lies outside their registrar scope."""
    course = db.session.get(Course, course_id)
    if course is not None and can_certify_course_hours(viewer, course):
        return course
    if course is None or not courses_access.can_view_course(viewer, course):
        abort(404)
    abort(403, _("这门课程不在您认定学时的范围内"))


def get_evidence_or_404(evidence_id: int, viewer: User) -> OutcomeEvidence:
    """A file of evidence, for whoever may see its outcome."""
    evidence = db.session.get(OutcomeEvidence, evidence_id)
    if evidence is None or not can_view_outcome(viewer, evidence.outcome):
        abort(404)
    return evidence


def get_entry_or_404(entry_id: int, viewer: User, *, to_reverse: bool = False) -> LedgerEntry:
    """A ledger entry, for its resident or a registrar over them; with *to_reverse*, only for
    the registrar (the resident cannot reverse, and is told nothing more than 404)."""
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None:
        abort(404)
    allowed = can_reverse(viewer, entry)
    if not (allowed or (not to_reverse and viewer.id == entry.account.user_id)):
        abort(404)
    return entry


def get_account_holder_or_404(user_id: int, viewer: User) -> User:
    """The resident whose credit account a registrar opens."""
    resident = db.session.get(User, user_id)
    if resident is None or not can_manage_account(viewer, resident):
        abort(404)
    return resident


def find_account_holder(phone: str, viewer: User) -> User | None:
    """The resident with mobile number *phone*, if *viewer* is a registrar over them."""
    resident = db.session.scalar(select(User).filter_by(phone=phone))
    return resident if resident is not None and can_manage_account(viewer, resident) else None


def get_rule_or_404(rule_id: int, *, current: bool = False) -> ConversionRule:
    """A conversion rule (rules are public); with *current*, only a version still in use."""
    rule = db.session.get(ConversionRule, rule_id)
    if rule is None or (current and not rule.current):
        abort(404)
    return rule


def get_trusted_issuer_or_404(issuer_id: int) -> TrustedIssuer:
    """A trusted issuer (the trust list is shown to every registrar)."""
    issuer = db.session.get(TrustedIssuer, issuer_id)
    if issuer is None:
        abort(404)
    return issuer


def current_trusted_issuers() -> list[TrustedIssuer]:
    return list(
        db.session.scalars(
            select(TrustedIssuer)
            .where(TrustedIssuer.retired_at.is_(None))
            .order_by(TrustedIssuer.name, TrustedIssuer.id)
        )
    )


def get_transcript_or_404(serial: str, viewer: User) -> Transcript:
    """A transcript to download: its owner needs no code; anyone else needs the ``?code=``
    from the QR link."""
    transcript = db.session.scalar(select(Transcript).filter_by(serial=serial.upper()))
    if transcript is not None and viewer.is_authenticated and transcript.user_id == viewer.id:
        return transcript
    transcript = verification.find_transcript(serial, request.args.get("code"))
    if transcript is None:
        abort(404)
    return transcript


# Lists ----------------------------------------------------------------------------------------


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


def courses_for_hours(registrar: User, *, certified: bool, limit: int = 200) -> list[Course]:
    """Courses provided in the registrar's scope that residents can take (published or
    archived): those still waiting for their 学时 to be certified (oldest first), or those
    certified (most recent first)."""
    scopes = registrar_units(registrar)
    query = (
        select(Course)
        .join(OrgUnit, Course.provider_id == OrgUnit.id)
        .where(Course.status != CourseStatus.DRAFT, within(scopes, OrgUnit.path))
    )
    if certified:
        query = query.where(Course.certified_hours.is_not(None)).order_by(
            Course.hours_certified_at.desc(), Course.id.desc()
        )
    else:
        query = query.where(Course.certified_hours.is_(None)).order_by(
            Course.published_at, Course.id
        )
    return list(db.session.scalars(query.limit(limit)))

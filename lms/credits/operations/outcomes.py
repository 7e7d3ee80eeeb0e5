"""Learning outcomes: submitted with evidence, certified or rejected, posted, reversed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import OrgUnit, User
from lms.accounts.operations import notify
from lms.core.errors import Conflict, Forbidden, field_error
from lms.core.numbers import exact_hours
from lms.core.text import clean_title
from lms.core.time import local_date, utcnow
from lms.core.web import site_url
from lms.credits import access
from lms.credits.evidence import store_evidence
from lms.credits.models import (
    CreditAccount,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
    OutcomeEvidence,
    OutcomeKind,
    OutcomeStatus,
    Transcript,
    TranscriptEntry,
)
from lms.credits.operations import transfers
from lms.credits.operations.accounts import find_entry, lock_account, open_account, post_entry
from lms.credits.operations.rules import convert
from lms.extensions import db

MAX_EVIDENCE_FILES = 5


def _check_date(value: date | None) -> date:
    if value is None:
        raise field_error("occurred_on", _("请填写日期"))
    today = local_date(utcnow())
    if value > today:
        raise field_error("occurred_on", _("日期不能晚于今天"))
    if value < today - timedelta(days=366 * 10):
        raise field_error("occurred_on", _("只能申报十年以内的学习成果"))
    return value


def submit_outcome(
    user: User,
    *,
    kind: OutcomeKind,
    title: str,
    hours,
    occurred_on: date | None,
    issuer: str = "",
    description: str = "",
    evidence: list[tuple[object, str | None]] = (),
) -> LearningOutcome:
    """A resident reports offline learning with evidence; it waits for a registrar."""
    if kind not in OutcomeKind.offline():
        raise field_error("kind", _("请选择成果类别"))
    title = clean_title(title)
    hours = exact_hours(
        hours, maximum=Decimal(24), too_many=_("一项成果的学时不能超过 24（一天最多 24 小时）")
    )
    occurred_on = _check_date(occurred_on)
    issuer = " ".join((issuer or "").split())
    if not issuer:
        raise field_error("issuer", _("请填写发证或组织单位"))
    if len(issuer) > 100:
        raise field_error("issuer", _("单位名称不能超过 100 个字"))
    files = [(stream, name) for stream, name in evidence if stream is not None]
    if not files:
        raise field_error("evidence", _("请上传证明材料（照片或 PDF）"))
    if len(files) > MAX_EVIDENCE_FILES:
        raise field_error("evidence", _("最多上传 %(n)s 个文件", n=MAX_EVIDENCE_FILES))
    duplicate = db.session.scalar(
        select(LearningOutcome.status).where(
            LearningOutcome.user_id == user.id,
            LearningOutcome.kind == kind,
            LearningOutcome.title == title,
            LearningOutcome.occurred_on == occurred_on,
            LearningOutcome.hours == hours,
            LearningOutcome.course_id.is_(None),
            LearningOutcome.status.in_((OutcomeStatus.PENDING, OutcomeStatus.CERTIFIED)),
        )
    )
    if duplicate is not None:
        # A second tap (or a retried request) finds the first; the partial unique index
        # ix_learning_outcome_once refuses what two racing requests would both insert.
        raise Conflict(
            _("这项成果已经申报过了，正在等待认证，不必重复提交")
            if duplicate is OutcomeStatus.PENDING
            else _("这项成果已经认证过了，不能重复申报")
        )
    same_day = db.session.scalar(
        select(func.coalesce(func.sum(LearningOutcome.hours), 0)).where(
            LearningOutcome.user_id == user.id,
            LearningOutcome.occurred_on == occurred_on,
            LearningOutcome.status.in_((OutcomeStatus.PENDING, OutcomeStatus.CERTIFIED)),
        )
    )
    if Decimal(same_day) + hours > 24:
        raise field_error("hours", _("同一天申报的学时合计不能超过 24 小时"))
    stored = [store_evidence(stream, name) for stream, name in files]
    outcome = LearningOutcome(
        user_id=user.id,
        kind=kind,
        title=title,
        hours=hours,
        occurred_on=occurred_on,
        issuer=issuer,
        description=(description or "").strip()[:2000],
        status=OutcomeStatus.PENDING,
    )
    db.session.add(outcome)
    for item in stored:
        outcome.evidence.append(
            OutcomeEvidence(
                path=item.path,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                sha256=item.sha256,
            )
        )
    db.session.flush()
    return outcome


def _clean_reason(reason: str | None, missing: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 2:
        raise field_error("reason", missing)
    if len(reason) > 500:
        raise field_error("reason", _("原因不能超过 500 个字"))
    return reason


def _decide(outcome: LearningOutcome, status: OutcomeStatus, **values) -> None:
    # One conditional UPDATE decides, so two registrars (or a double tap) cannot both decide.
    result = db.session.execute(
        update(LearningOutcome)
        .where(LearningOutcome.id == outcome.id, LearningOutcome.status == OutcomeStatus.PENDING)
        .values(status=status, decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("这项成果已经处理过了"))
    db.session.refresh(outcome)


def _deposit(
    outcome: LearningOutcome,
    account: CreditAccount,
    posted_by: User | None,
    *,
    now: datetime | None = None,
):
    # A credential from elsewhere is posted under its own id (``credential:<id>``), so the same
    # credential is credited once, whoever uploaded it and however often.
    imported = transfers.imported_for(outcome)
    key = imported.ledger_key if imported is not None else f"outcome:{outcome.id}"
    if outcome.attendance_id is not None:
        key = f"attendance:{outcome.attendance_id}"  # one posting per attendance at an activity
    if imported is not None and find_entry(key) is not None:
        raise Conflict(_("这份凭证的学分已经记入过，同一份凭证只能转入一次"))
    conversion = convert(
        outcome.kind,
        outcome.hours,
        category_id=outcome.category_id,
        on=outcome.occurred_on,
        account=account,
        issuer_id=imported.issuer_id if imported else None,
        achievement_type=imported.achievement_type if imported else None,
        source_credits=imported.source_credits if imported else None,
    )
    outcome.credits = conversion.awarded
    db.session.flush()
    if conversion.awarded <= 0:
        return None, conversion
    try:
        # In a savepoint: a parallel certification of the same credential for another
        # resident (another account, so not serialised by its lock) takes the key first.
        with db.session.begin_nested():
            entry, new = post_entry(
                account,
                key=key,
                amount=conversion.awarded,
                outcome=outcome,
                rule=conversion.rule,
                memo=conversion.rule_text,
                posted_by=posted_by,
                now=now,
            )
    except IntegrityError:
        raise Conflict(_("这份凭证的学分已经记入过，同一份凭证只能转入一次")) from None
    if not new and entry.outcome_id != outcome.id:
        raise Conflict(_("这份凭证的学分已经记入过，同一份凭证只能转入一次"))
    return entry, conversion


def _acting_unit(registrar: User, resident: User, refusal: str) -> OrgUnit:
    """A registrar acts on a resident in the name of their unit nearest the resident: it is
    named on the certificate and in the ledger. Without such a unit there is no one to act for.
    (Whether the caller may act at all was asked of ``access`` before.)"""
    unit = access.certifying_unit(registrar, resident)
    if unit is None:
        raise Forbidden(refusal)
    return unit


def _not_own(registrar: User, holder_id: int, refusal: str) -> None:
    # Separation of duties: nobody decides anything in their own credit account, whatever
    # their roles (a registrar is a resident too).
    if registrar.id == holder_id:
        raise Forbidden(refusal)


def certify_outcome(registrar: User, outcome: LearningOutcome) -> LedgerEntry | None:
    """A registrar of the resident's unit (or above) certifies; the credits are posted at once."""
    _not_own(registrar, outcome.user_id, _("不能认证自己的学习成果，请由其他专员认证"))
    unit = _acting_unit(registrar, outcome.user, _("您无权认证这位居民的学习成果"))
    account = open_account(outcome.user)
    lock_account(account)
    _decide(
        outcome, OutcomeStatus.CERTIFIED, decided_by_id=registrar.id, certifying_unit_id=unit.id
    )
    entry, conversion = _deposit(outcome, account, registrar)
    message = _(
        "您申报的“%(title)s”已通过认证，获得 %(n)s 学分", title=outcome.title, n=conversion.awarded
    )
    if conversion.capped:
        message += _("（本年度该类学分已达上限）")
    notify(outcome.user, message, link=site_url("credits.my_credits"))
    return entry


def reject_outcome(registrar: User, outcome: LearningOutcome, *, reason: str) -> None:
    """Refuse an outcome with a reason the resident can act on."""
    _not_own(registrar, outcome.user_id, _("不能审核自己的学习成果，请由其他专员处理"))
    unit = _acting_unit(registrar, outcome.user, _("您无权审核这位居民的学习成果"))
    reason = _clean_reason(reason, _("请写明不通过的原因，方便居民补充材料"))
    _decide(
        outcome,
        OutcomeStatus.REJECTED,
        decided_by_id=registrar.id,
        certifying_unit_id=unit.id,
        reason=reason,
    )
    notify(
        outcome.user,
        _("您申报的“%(title)s”未通过认证", title=outcome.title),
        body=reason,
        link=site_url("credits.my_credits"),
    )


def record_course_completion(enrolment) -> LedgerEntry | None:
    """A completed online course becomes an outcome certified by the system (in the name of
    the course's provider) and is posted at once, on the course's certified 学时. Until a
    registrar has certified them nothing is recorded here (the learning file shows the
    completion; certifying the hours calls this again). Safe to call any number of times."""
    user, course = enrolment.user, enrolment.course
    if course.certified_hours is None:
        return None
    account = open_account(user)
    lock_account(account)
    outcome = db.session.scalar(
        select(LearningOutcome).filter_by(user_id=user.id, course_id=course.id)
    )
    if outcome is None:
        outcome = _course_outcome(user, course, enrolment.completed_at or utcnow())
    elif outcome.status is not OutcomeStatus.CERTIFIED:
        return None  # revoked by a registrar: completing again does not bring it back
    entry = find_entry(f"outcome:{outcome.id}")
    if entry is None and outcome.credits is None:
        entry, _conversion = _deposit(outcome, account, None)
    return entry


def post_course_completion(
    user: User, course, account: CreditAccount, completed_at: datetime
) -> LedgerEntry | None:
    """Record a course completed at *completed_at* (the course's hours certified, no outcome for
    it yet) and post its credits dated then: for loading past completions in bulk, which
    ``record_course_completion`` does one live completion at a time."""
    entry, _conversion = _deposit(
        _course_outcome(user, course, completed_at), account, None, now=completed_at
    )
    return entry


def _course_outcome(user: User, course, completed_at: datetime) -> LearningOutcome:
    """The online-course outcome of a completion, certified by the system in the name of the
    course's provider."""
    outcome = LearningOutcome(
        user_id=user.id,
        kind=OutcomeKind.ONLINE_COURSE,
        title=course.title,
        hours=course.certified_hours,
        occurred_on=local_date(completed_at),
        issuer=course.provider.name,
        course_id=course.id,
        category_id=course.category_id,
        status=OutcomeStatus.CERTIFIED,
        decided_at=completed_at,
        certifying_unit_id=course.provider_id,
    )
    db.session.add(outcome)
    db.session.flush()
    return outcome


# Reversals -----------------------------------------------------------------------------------


def reverse_entry(registrar: User, entry: LedgerEntry, *, reason: str) -> LedgerEntry:
    """Correct a posting: a reversal entry of the opposite amount names it; its outcome becomes
    revoked, and so does every transcript that lists it."""
    _not_own(registrar, entry.account.user_id, _("不能冲正自己账户中的学分，请由其他专员处理"))
    _acting_unit(registrar, entry.account.user, _("您无权冲正这笔学分"))
    if entry.kind is not EntryKind.DEPOSIT:
        raise Conflict(_("冲正记录不能再被冲正"))
    reason = _clean_reason(reason, _("请写明冲正的原因"))
    return _reverse(entry, registrar, reason)


def _reverse(entry: LedgerEntry, actor: User, reason: str) -> LedgerEntry:
    """Post the reversal of *entry* (who may, and why, decided by the caller), revoke its
    outcome and every transcript that lists it, and tell the holder."""
    account = entry.account
    lock_account(account)
    if find_entry(f"reversal:{entry.id}") is not None:
        raise Conflict(_("这笔学分已经冲正过了"))
    reversal, _new = post_entry(
        account,
        key=f"reversal:{entry.id}",
        amount=-entry.amount,
        kind=EntryKind.REVERSAL,
        outcome=entry.outcome,
        reverses=entry,
        memo=reason,
        posted_by=actor,
    )
    if entry.outcome is not None:
        db.session.execute(
            update(LearningOutcome)
            .where(LearningOutcome.id == entry.outcome_id)
            .values(
                status=OutcomeStatus.REVOKED,
                reason=reason,
                decided_by_id=actor.id,
                decided_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(entry.outcome)
    listed = select(TranscriptEntry.transcript_id).where(TranscriptEntry.entry_id == entry.id)
    db.session.execute(
        update(Transcript)
        .where(Transcript.id.in_(listed), Transcript.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    title = entry.outcome.title if entry.outcome else entry.memo
    notify(
        account.user,
        _("“%(title)s”的 %(n)s 学分已被冲正", title=title, n=entry.amount),
        body=reason,
        link=site_url("credits.my_credits"),
    )
    db.session.flush()
    return reversal

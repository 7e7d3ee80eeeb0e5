"""Every write of the credit bank. Flush, never commit.

Postings to one account are serialised by touching the account's row first (a row lock on
PostgreSQL, the write lock on SQLite); inside that, the idempotency key is checked again, so a
retried or concurrent posting of the same outcome finds the first one instead of doubling it.
The unique constraints on the key and on (account, seq) stand behind that as a last guard.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.accounts.operations import notify
from lms.core.errors import Conflict, Forbidden, field_error
from lms.core.time import local, local_date, utcnow
from lms.core.web import site_url
from lms.courses.models import Category
from lms.courses.operations import clean_title
from lms.credits import access, ledger, signing
from lms.credits.evidence import store_evidence
from lms.credits.models import (
    ConversionRule,
    CreditAccount,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
    OutcomeEvidence,
    OutcomeKind,
    OutcomeStatus,
    RuleMode,
    Transcript,
    TranscriptEntry,
)
from lms.extensions import db

DEFAULT_HOURS_PER_CREDIT = Decimal(16)
MAX_EVIDENCE_FILES = 5
SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over a phone


# Accounts ------------------------------------------------------------------------------------


def account_for(user: User) -> CreditAccount | None:
    return db.session.scalar(select(CreditAccount).filter_by(user_id=user.id))


def open_account(user: User, *, now: datetime | None = None) -> CreditAccount:
    """The resident's credit account, opened now if they have none. The number is the county
    code, the year of opening and a sequence within that year: 510521-2026-000123."""
    account = account_for(user)
    if account is not None:
        return account
    now = now or utcnow()
    year = local_date(now).year
    county = current_app.config["LMS_COUNTY_CODE"]
    for _attempt in range(20):
        sequence = 1 + (
            db.session.scalar(select(func.max(CreditAccount.sequence)).filter_by(year=year)) or 0
        )
        account = CreditAccount(
            user_id=user.id,
            account_no=f"{county}-{year}-{sequence:06d}",
            year=year,
            sequence=sequence,
            opened_at=now,
            balance=Decimal("0.0"),
            entry_count=0,
        )
        db.session.add(account)
        try:
            with db.session.begin_nested():
                db.session.flush()
            return account
        except IntegrityError:
            db.session.expunge(account) if account in db.session else None
            existing = account_for(user)
            if existing is not None:  # a parallel request opened it
                return existing
    raise Conflict(_("学分账户暂时无法开立，请稍后再试"))


def open_missing_accounts() -> int:
    """Open accounts for residents who have none; returns how many were opened."""
    from lms.accounts.models import Role, RoleGrant

    missing = db.session.scalars(
        select(User)
        .where(
            User.id.in_(select(RoleGrant.user_id).filter_by(role=Role.RESIDENT)),
            User.id.not_in(select(CreditAccount.user_id)),
        )
        .order_by(User.id)
    ).all()
    for user in missing:
        open_account(user)
    return len(missing)


def _lock(account: CreditAccount) -> None:
    # A no-op UPDATE: it takes the row lock on PostgreSQL and the write lock on SQLite, so
    # postings to one account happen one after another and each sees the last one's hash.
    db.session.execute(
        update(CreditAccount)
        .where(CreditAccount.id == account.id)
        .values(entry_count=CreditAccount.entry_count)
        .execution_options(synchronize_session=False)
    )


def _find_entry(key: str) -> LedgerEntry | None:
    return db.session.scalar(select(LedgerEntry).filter_by(idempotency_key=key))


# The ledger ----------------------------------------------------------------------------------


def post_entry(
    account: CreditAccount,
    *,
    key: str,
    amount: Decimal,
    kind: EntryKind = EntryKind.DEPOSIT,
    outcome: LearningOutcome | None = None,
    reverses: LedgerEntry | None = None,
    rule: ConversionRule | None = None,
    memo: str = "",
    posted_by: User | None = None,
    now: datetime | None = None,
) -> tuple[LedgerEntry, bool]:
    """Append one entry to *account*'s chain. Posting a key that is already in the ledger
    returns that entry and False: retries and races never double."""
    if isinstance(amount, float):
        raise TypeError("credits are never floats")
    amount = ledger.quantize(amount)
    existing = _find_entry(key)
    if existing is not None:
        return existing, False
    _lock(account)
    existing = _find_entry(key)  # a parallel posting may have won while we waited
    if existing is not None:
        return existing, False
    db.session.refresh(account)
    last = db.session.scalar(
        select(LedgerEntry).filter_by(account_id=account.id).order_by(LedgerEntry.seq.desc())
    )
    seq = (last.seq if last else 0) + 1
    prev_hash = last.hash if last else ledger.GENESIS
    balance = (last.balance if last else Decimal("0.0")) + amount
    # Whole microseconds survive every database, so the hash can be recomputed from the row.
    occurred_at = now or utcnow()
    content = {
        "account_id": account.id,
        "seq": seq,
        "idempotency_key": key,
        "kind": kind,
        "amount": amount,
        "balance": balance,
        "outcome_id": outcome.id if outcome else None,
        "reverses_id": reverses.id if reverses else None,
        "rule_id": rule.id if rule else None,
        "memo": memo[:500],
        "posted_by_id": posted_by.id if posted_by else None,
        "occurred_at": occurred_at,
        "prev_hash": prev_hash,
    }
    entry = LedgerEntry(**content, hash=ledger.entry_hash(**content))
    db.session.add(entry)
    account.entry_count = seq
    account.balance = balance
    db.session.flush()
    return entry, True


# Conversion rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    """What an outcome earns: the rule used (None: the default 16 学时 = 1 学分), the credits
    the rule gives, and the credits awarded after the yearly cap."""

    rule: ConversionRule | None
    computed: Decimal
    awarded: Decimal
    capped: bool

    @property
    def rule_text(self) -> str:
        return describe_rule(self.rule)


def describe_rule(rule: ConversionRule | None) -> str:
    if rule is None:
        return _("默认规则：每 %(n)s 学时折算 1 学分", n=DEFAULT_HOURS_PER_CREDIT)
    if rule.mode is RuleMode.FIXED:
        text = _("每项成果 %(n)s 学分", n=rule.fixed_credits)
    else:
        text = _("每 %(n)s 学时折算 1 学分", n=_trim(rule.hours_per_credit))
    if rule.yearly_cap is not None:
        text += _("，每年最多 %(n)s 学分", n=rule.yearly_cap)
    return text


def _trim(value: Decimal) -> str:
    return format(value.normalize(), "f")


def current_rules() -> list[ConversionRule]:
    return list(
        db.session.scalars(
            select(ConversionRule)
            .where(ConversionRule.superseded_at.is_(None), ConversionRule.retired.is_(False))
            .order_by(ConversionRule.kind, ConversionRule.category_id, ConversionRule.id)
        )
    )


def applicable_rule(kind: OutcomeKind, category_id: int | None, on: date) -> ConversionRule | None:
    """The current rule for *kind* on the day *on*: one for the outcome's category if there is
    one, else one for all categories; None means the default rule."""
    candidates = [
        rule
        for rule in current_rules()
        if rule.kind is kind
        and rule.category_id in (None, category_id)
        and (rule.valid_from is None or rule.valid_from <= on)
        and (rule.valid_until is None or on <= rule.valid_until)
    ]
    candidates.sort(key=lambda rule: (rule.category_id is None, -rule.id))
    return candidates[0] if candidates else None


def earned_this_year(account: CreditAccount | None, kind: OutcomeKind, year: int) -> Decimal:
    """Credits already posted (net of reversals) for outcomes of *kind* that happened in *year*."""
    if account is None:
        return Decimal("0.0")
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LearningOutcome, LedgerEntry.outcome_id == LearningOutcome.id)
        .where(
            LedgerEntry.account_id == account.id,
            LearningOutcome.kind == kind,
            LearningOutcome.occurred_on >= date(year, 1, 1),
            LearningOutcome.occurred_on <= date(year, 12, 31),
        )
    )
    return Decimal(total)


def convert(
    kind: OutcomeKind,
    hours: Decimal,
    *,
    category_id: int | None,
    on: date,
    account: CreditAccount | None = None,
) -> Conversion:
    """Apply the rule for an outcome (also the preview: nothing is written)."""
    rule = applicable_rule(kind, category_id, on)
    if rule is not None and rule.mode is RuleMode.FIXED:
        computed = ledger.quantize(rule.fixed_credits or 0)
    else:
        per = rule.hours_per_credit if rule is not None else DEFAULT_HOURS_PER_CREDIT
        computed = ledger.quantize(Decimal(hours) / per)
    awarded = computed
    if rule is not None and rule.yearly_cap is not None:
        room = max(Decimal("0.0"), rule.yearly_cap - earned_this_year(account, kind, on.year))
        awarded = min(computed, ledger.quantize(room))
    return Conversion(rule=rule, computed=computed, awarded=awarded, capped=awarded < computed)


def _decimal(field: str, value, *, allow_empty: bool = False, maximum: Decimal) -> Decimal | None:
    if value in (None, "") and allow_empty:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise field_error(field, _("请填写数字")) from None
    if not number.is_finite() or number <= 0:
        raise field_error(field, _("必须大于 0"))
    if number > maximum:
        raise field_error(field, _("不能超过 %(n)s", n=maximum))
    if number != number.quantize(Decimal("0.1")):
        raise field_error(field, _("最多保留一位小数"))
    return number.quantize(Decimal("0.1"))


def save_rule(
    actor: User,
    *,
    kind: OutcomeKind,
    category: Category | None,
    mode: RuleMode,
    hours_per_credit=None,
    fixed_credits=None,
    yearly_cap=None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str = "",
    replaces: ConversionRule | None = None,
) -> ConversionRule:
    """Publish a rule, or a new version of *replaces*. The old version stays, superseded, so
    entries that name it still say how they were computed."""
    if not access.can_keep_rules(actor):
        raise Forbidden(_("只有县级学分银行专员可以维护折算规则"))
    if replaces is not None and not replaces.current:
        raise Conflict(_("这条规则已经被修改过，请在最新版本上修改"))
    per = fixed = None
    if mode is RuleMode.PER_HOURS:
        per = _decimal("hours_per_credit", hours_per_credit, maximum=Decimal("1000"))
    else:
        fixed = _decimal("fixed_credits", fixed_credits, maximum=Decimal("100"))
    cap = _decimal("yearly_cap", yearly_cap, allow_empty=True, maximum=Decimal("1000"))
    if valid_from and valid_until and valid_until < valid_from:
        raise field_error("valid_until", _("结束日期不能早于开始日期"))
    rule = ConversionRule(
        family_id=replaces.family_id if replaces else None,
        version=replaces.version + 1 if replaces else 1,
        kind=kind,
        category_id=category.id if category else None,
        mode=mode,
        hours_per_credit=per,
        fixed_credits=fixed,
        yearly_cap=cap,
        valid_from=valid_from,
        valid_until=valid_until,
        note=" ".join((note or "").split())[:200],
        created_by_id=actor.id,
    )
    db.session.add(rule)
    if replaces is not None:
        result = db.session.execute(
            update(ConversionRule)
            .where(ConversionRule.id == replaces.id, ConversionRule.superseded_at.is_(None))
            .values(superseded_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict(_("这条规则已经被修改过，请在最新版本上修改"))
        db.session.refresh(replaces)
    db.session.flush()
    if rule.family_id is None:
        rule.family_id = rule.id
        db.session.flush()
    return rule


def retire_rule(actor: User, rule: ConversionRule) -> None:
    """Stop using a rule for new outcomes (what it already posted stays)."""
    if not access.can_keep_rules(actor):
        raise Forbidden(_("只有县级学分银行专员可以维护折算规则"))
    if not rule.current:
        raise Conflict(_("这条规则已经不再使用"))
    rule.retired = True
    db.session.flush()


# Outcomes ------------------------------------------------------------------------------------


def _check_hours(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise field_error("hours", _("学时必须是数字")) from None
    if not amount.is_finite() or amount <= 0:
        raise field_error("hours", _("学时必须大于 0"))
    if amount != amount.quantize(Decimal("0.1")):
        raise field_error("hours", _("学时最多保留一位小数"))
    if amount > 24:
        raise field_error("hours", _("一项成果的学时不能超过 24（一天最多 24 小时）"))
    return amount.quantize(Decimal("0.1"))


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
    hours = _check_hours(hours)
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


def _deposit(outcome: LearningOutcome, account: CreditAccount, posted_by: User | None):
    conversion = convert(
        outcome.kind,
        outcome.hours,
        category_id=outcome.category_id,
        on=outcome.occurred_on,
        account=account,
    )
    outcome.credits = conversion.awarded
    db.session.flush()
    if conversion.awarded <= 0:
        return None, conversion
    entry, _new = post_entry(
        account,
        key=f"outcome:{outcome.id}",
        amount=conversion.awarded,
        outcome=outcome,
        rule=conversion.rule,
        memo=conversion.rule_text,
        posted_by=posted_by,
    )
    return entry, conversion


def certify_outcome(registrar: User, outcome: LearningOutcome) -> LedgerEntry | None:
    """A registrar of the resident's unit (or above) certifies; the credits are posted at once."""
    if not access.can_certify(registrar, outcome):
        raise Forbidden(_("您无权认证这位居民的学习成果"))
    account = open_account(outcome.user)
    _lock(account)
    unit = access.certifying_unit(registrar, outcome.user)
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
    if not access.can_certify(registrar, outcome):
        raise Forbidden(_("您无权审核这位居民的学习成果"))
    reason = " ".join((reason or "").split())
    if len(reason) < 2:
        raise field_error("reason", _("请写明不通过的原因，方便居民补充材料"))
    if len(reason) > 500:
        raise field_error("reason", _("原因不能超过 500 个字"))
    unit = access.certifying_unit(registrar, outcome.user)
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
    the course's provider) and is posted at once. Safe to call any number of times."""
    user, course = enrolment.user, enrolment.course
    account = open_account(user)
    _lock(account)
    outcome = db.session.scalar(
        select(LearningOutcome).filter_by(user_id=user.id, course_id=course.id)
    )
    if outcome is None:
        completed_at = enrolment.completed_at or utcnow()
        outcome = LearningOutcome(
            user_id=user.id,
            kind=OutcomeKind.ONLINE_COURSE,
            title=course.title,
            hours=course.hours,
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
    elif outcome.status is not OutcomeStatus.CERTIFIED:
        return None  # revoked by a registrar: completing again does not bring it back
    entry = _find_entry(f"outcome:{outcome.id}")
    if entry is None and outcome.credits is None:
        entry, _conversion = _deposit(outcome, account, None)
    return entry


# Reversals -----------------------------------------------------------------------------------


def reverse_entry(registrar: User, entry: LedgerEntry, *, reason: str) -> LedgerEntry:
    """Correct a posting: a reversal entry of the opposite amount names it; its outcome becomes
    revoked, and so does every transcript that lists it."""
    if not access.can_reverse(registrar, entry):
        raise Forbidden(_("您无权冲正这笔学分"))
    if entry.kind is not EntryKind.DEPOSIT:
        raise Conflict(_("冲正记录不能再被冲正"))
    reason = " ".join((reason or "").split())
    if len(reason) < 2:
        raise field_error("reason", _("请写明冲正的原因"))
    if len(reason) > 500:
        raise field_error("reason", _("原因不能超过 500 个字"))
    account = entry.account
    _lock(account)
    if _find_entry(f"reversal:{entry.id}") is not None:
        raise Conflict(_("这笔学分已经冲正过了"))
    reversal, _new = post_entry(
        account,
        key=f"reversal:{entry.id}",
        amount=-entry.amount,
        kind=EntryKind.REVERSAL,
        outcome=entry.outcome,
        reverses=entry,
        memo=reason,
        posted_by=registrar,
    )
    if entry.outcome is not None:
        db.session.execute(
            update(LearningOutcome)
            .where(LearningOutcome.id == entry.outcome_id)
            .values(status=OutcomeStatus.REVOKED, reason=reason, decided_by_id=registrar.id)
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


# Transcripts ---------------------------------------------------------------------------------


def standing_entries(account: CreditAccount) -> list[LedgerEntry]:
    """The deposits of *account* that have not been reversed, oldest first."""
    reversed_ids = select(LedgerEntry.reverses_id).where(
        LedgerEntry.account_id == account.id, LedgerEntry.reverses_id.is_not(None)
    )
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.account_id == account.id,
                LedgerEntry.kind == EntryKind.DEPOSIT,
                LedgerEntry.id.not_in(reversed_ids),
            )
            .order_by(LedgerEntry.seq)
        )
    )


def _serial(year: int) -> str:
    return f"LX{year}-" + "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(8))


def issue_transcript(user: User, *, now: datetime | None = None) -> Transcript:
    """Issue a 学分证明 of every standing credit: a signed snapshot that the PDF and the JSON
    are both made from, so they always agree."""
    account = account_for(user)
    entries = standing_entries(account) if account else []
    if not entries:
        raise Conflict(_("您还没有已认证的学分，暂时不能开具学分证明"))
    now = now or utcnow()
    code = secrets.token_urlsafe(9)
    serial = _serial(local_date(now).year)
    while db.session.scalar(select(Transcript.id).filter_by(serial=serial)):
        serial = _serial(local_date(now).year)
    college = access.county_unit()
    rows = []
    for entry in entries:
        outcome = entry.outcome
        rows.append(
            {
                "entry_id": entry.id,
                "date": outcome.occurred_on.isoformat() if outcome else "",
                "title": outcome.title if outcome else entry.memo,
                "kind": str(outcome.kind) if outcome else "",
                "kind_label": outcome.kind.label if outcome else "",
                "hours": f"{outcome.hours:.1f}" if outcome else "",
                "credits": f"{entry.amount:.1f}",
                "certified_by": _certifier_name(outcome),
            }
        )
    total_credits = sum((entry.amount for entry in entries), Decimal("0.0"))
    total_hours = sum((entry.outcome.hours for entry in entries if entry.outcome), Decimal("0.0"))
    payload = {
        "format": "lms-transcript/1",
        "serial": serial,
        "issued_at": local_isoformat(now),
        "issuer": {
            "name": _("%(unit)s社区教育学院", unit=college.name) if college else "",
            "code": current_app.config["LMS_COUNTY_CODE"],
        },
        "holder": {
            "name": user.name,
            "phone": user.masked_phone,
            "account_no": account.account_no,
        },
        "entries": rows,
        "total_hours": f"{total_hours:.1f}",
        "total_credits": f"{total_credits:.1f}",
        "verify_url": site_url("credits.verify", serial=serial, code=code, external=True),
    }
    transcript = Transcript(
        serial=serial,
        code=code,
        user_id=user.id,
        account_id=account.id,
        issued_at=now,
        total_credits=total_credits,
        document=signing.sign_document(payload),
    )
    db.session.add(transcript)
    db.session.flush()
    db.session.add_all(
        TranscriptEntry(transcript_id=transcript.id, entry_id=entry.id) for entry in entries
    )
    db.session.flush()
    return transcript


def _certifier_name(outcome: LearningOutcome | None) -> str:
    if outcome is None or outcome.certifying_unit is None:
        return ""
    return outcome.certifying_unit.name


def local_isoformat(moment: datetime) -> str:
    return local(moment).isoformat(timespec="seconds")

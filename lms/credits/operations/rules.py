"""Conversion rules: versioned, so changing a rule never changes what was posted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms.accounts.models import User
from lms.core.errors import Conflict, field_error
from lms.core.time import local_date, utcnow
from lms.courses.models import Category, Course
from lms.credits import ledger
from lms.credits.credentials.foreign import ACHIEVEMENT_TYPES
from lms.credits.models import (
    ConversionRule,
    CreditAccount,
    ImportedCredential,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    RuleMode,
    TrustedIssuer,
)
from lms.extensions import db

DEFAULT_HOURS_PER_CREDIT = Decimal(16)


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
        text = _("每项成果 %(n)s 学分", n=_trim(rule.fixed_credits))
    elif rule.mode is RuleMode.SOURCE:
        text = _("按原单位学分的 %(n)s 倍折算", n=_trim(rule.credit_ratio))
    else:
        text = _("每 %(n)s 学时折算 1 学分", n=_trim(rule.hours_per_credit))
    if rule.yearly_cap is not None:
        text += _("，每年最多 %(n)s 学分", n=_trim(rule.yearly_cap))
    scope = [rule.issuer.name] if rule.issuer is not None else []
    if rule.achievement_type:
        scope.append(ACHIEVEMENT_TYPES.get(rule.achievement_type, rule.achievement_type))
    if scope:
        text = _("%(scope)s：%(text)s", scope="、".join(scope), text=text)
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


def applicable_rule(
    kind: OutcomeKind,
    category_id: int | None,
    on: date,
    *,
    issuer_id: int | None = None,
    achievement_type: str | None = None,
) -> ConversionRule | None:
    """The current rule for *kind* on the day *on*: the most specific one (for the outcome's
    category; for credits from elsewhere, for its issuer and achievement type) before one for
    all; None means the default rule."""
    candidates = [
        rule
        for rule in current_rules()
        if rule.kind is kind
        and rule.category_id in (None, category_id)
        and rule.issuer_id in (None, issuer_id)
        and rule.achievement_type in (None, achievement_type)
        and (rule.valid_from is None or rule.valid_from <= on)
        and (rule.valid_until is None or on <= rule.valid_until)
    ]
    candidates.sort(
        key=lambda rule: (
            rule.issuer_id is None,
            rule.achievement_type is None,
            rule.category_id is None,
            -rule.id,
        )
    )
    return candidates[0] if candidates else None


def earned_this_year(
    account: CreditAccount | None,
    kind: OutcomeKind,
    year: int,
    *,
    rule: ConversionRule | None = None,
) -> Decimal:
    """Credits already posted (net of reversals) for outcomes of *kind* that happened in *year*;
    with a rule for credits from elsewhere that names an issuer or achievement type, only
    those (its cap is on them)."""
    if account is None:
        return Decimal("0.0")
    query = (
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LearningOutcome, LedgerEntry.outcome_id == LearningOutcome.id)
        .where(
            LedgerEntry.account_id == account.id,
            LearningOutcome.kind == kind,
            LearningOutcome.occurred_on >= date(year, 1, 1),
            LearningOutcome.occurred_on <= date(year, 12, 31),
        )
    )
    if rule is not None and (rule.issuer_id is not None or rule.achievement_type is not None):
        query = query.join(ImportedCredential, ImportedCredential.outcome_id == LearningOutcome.id)
        if rule.issuer_id is not None:
            query = query.where(ImportedCredential.issuer_id == rule.issuer_id)
        if rule.achievement_type is not None:
            query = query.where(ImportedCredential.achievement_type == rule.achievement_type)
    return Decimal(db.session.scalar(query))


def convert(
    kind: OutcomeKind,
    hours: Decimal,
    *,
    category_id: int | None,
    on: date,
    account: CreditAccount | None = None,
    issuer_id: int | None = None,
    achievement_type: str | None = None,
    source_credits: Decimal | None = None,
) -> Conversion:
    """Apply the rule for an outcome (also the preview: nothing is written). Credits from
    elsewhere also give their issuer, achievement type and the issuer's own credits."""
    rule = applicable_rule(
        kind, category_id, on, issuer_id=issuer_id, achievement_type=achievement_type
    )
    if rule is not None and rule.mode is RuleMode.FIXED:
        computed = ledger.quantize(rule.fixed_credits or 0)
    elif rule is not None and rule.mode is RuleMode.SOURCE:
        computed = ledger.quantize((source_credits or Decimal(0)) * (rule.credit_ratio or 0))
    else:
        per = rule.hours_per_credit if rule is not None else DEFAULT_HOURS_PER_CREDIT
        computed = ledger.quantize(Decimal(hours) / per)
    awarded = computed
    if rule is not None and rule.yearly_cap is not None:
        earned = earned_this_year(account, kind, on.year, rule=rule)
        room = max(Decimal("0.0"), rule.yearly_cap - earned)
        awarded = min(computed, ledger.quantize(room))
    return Conversion(rule=rule, computed=computed, awarded=awarded, capped=awarded < computed)


def credits_for_course(course: Course, *, on: date | None = None) -> Decimal | None:
    """The credits *course* earns: what the rule for online courses of its category gives on
    its certified 学时 (on *on*, default today), before any yearly cap of the resident's; None
    while its hours are not certified. The course page, the catalogue, the API, the rules'
    preview and the ledger all get the figure from here (through ``convert``), so they agree."""
    if course.certified_hours is None:
        return None
    return convert(
        OutcomeKind.ONLINE_COURSE,
        course.certified_hours,
        category_id=course.category_id,
        on=on or local_date(utcnow()),
    ).computed


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
    issuer: TrustedIssuer | None = None,
    achievement_type: str | None = None,
    credit_ratio=None,
) -> ConversionRule:
    """Publish a rule, or a new version of *replaces*. The old version stays, superseded, so
    entries that name it still say how they were computed. Who may keep rules is asked of
    ``access.require_rule_keeper`` by the caller."""
    if replaces is not None and not replaces.current:
        raise Conflict(_("这条规则已经被修改过，请在最新版本上修改"))
    per = fixed = ratio = None
    if kind is not OutcomeKind.TRANSFER and (
        issuer is not None or achievement_type or mode is RuleMode.SOURCE
    ):
        raise field_error("kind", _("按签发单位、成果类型或原单位学分折算只适用于外部转入"))
    achievement_type = achievement_type or None
    if achievement_type is not None and len(achievement_type) > 40:
        raise field_error("achievement_type", _("成果类型不正确"))
    if mode is RuleMode.PER_HOURS:
        per = _decimal("hours_per_credit", hours_per_credit, maximum=Decimal("1000"))
    elif mode is RuleMode.SOURCE:
        ratio = _decimal("credit_ratio", credit_ratio, maximum=Decimal("10"))
    else:
        fixed = _decimal("fixed_credits", fixed_credits, maximum=Decimal("100"))
    cap = _decimal("yearly_cap", yearly_cap, allow_empty=True, maximum=Decimal("1000"))
    if valid_from and valid_until and valid_until < valid_from:
        raise field_error("valid_until", _("结束日期不能早于开始日期"))
    if replaces is None and any(
        rule.kind is kind
        and rule.category_id == (category.id if category else None)
        and rule.issuer_id == (issuer.id if issuer else None)
        and rule.achievement_type == achievement_type
        for rule in current_rules()
    ):
        raise Conflict(_("这一类成果已有现行规则，请点“修改”生成新版本"))
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
        issuer_id=issuer.id if issuer else None,
        achievement_type=achievement_type,
        credit_ratio=ratio,
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
    if not rule.current:
        raise Conflict(_("这条规则已经不再使用"))
    rule.retired = True
    db.session.flush()

"""The credit bank's tables: one credit account per resident, learning outcomes with their
evidence, versioned conversion rules, the append-only ledger (law 3) and issued transcripts."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Annotated

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from lms.accounts.models import OrgUnit, User
from lms.activities.models import Attendance
from lms.core.models import (
    CreatedMixin,
    hours,
    intpk,
    str40,
    str100,
    str200,
    str_enum,
    utc_datetime,
)
from lms.core.time import utcnow
from lms.courses.models import Category, Course
from lms.extensions import db

# Credits have one decimal everywhere (API.md); the ledger never holds a float.
credits = Annotated[Decimal, mapped_column(Numeric(9, 1))]
CREDIT_SCALE = Decimal("0.1")


class OutcomeKind(enum.StrEnum):
    ONLINE_COURSE = "online_course"
    TRAINING = "training"
    CERTIFICATE = "certificate"
    VOLUNTEER = "volunteer"
    ACTIVITY = "activity"
    TRANSFER = "transfer"

    @property
    def label(self) -> str:
        return str(
            {
                "online_course": _l("线上课程"),
                "training": _l("培训学习"),
                "certificate": _l("证书获得"),
                "volunteer": _l("志愿服务"),
                "activity": _l("活动参与"),
                "transfer": _l("外部转入"),
            }[self.value]
        )

    @classmethod
    def offline(cls) -> tuple[OutcomeKind, ...]:
        """The kinds a resident submits with evidence for a registrar to certify."""
        return (cls.TRAINING, cls.CERTIFICATE, cls.VOLUNTEER, cls.ACTIVITY)


class OutcomeStatus(enum.StrEnum):
    PENDING = "pending"
    CERTIFIED = "certified"
    REJECTED = "rejected"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return str(
            {
                "pending": _l("待认证"),
                "certified": _l("已认证"),
                "rejected": _l("未通过"),
                "revoked": _l("已撤销"),
            }[self.value]
        )


class RuleMode(enum.StrEnum):
    PER_HOURS = "per_hours"
    FIXED = "fixed"
    SOURCE = "source"  # credits from elsewhere: the issuer's own credits times a ratio

    @property
    def label(self) -> str:
        return str(
            {
                "per_hours": _l("按学时折算"),
                "fixed": _l("固定学分"),
                "source": _l("按原单位学分折算"),
            }[self.value]
        )


class EntryKind(enum.StrEnum):
    DEPOSIT = "deposit"
    REVERSAL = "reversal"

    @property
    def label(self) -> str:
        return str({"deposit": _l("存入"), "reversal": _l("冲正")}[self.value])


class CreditAccount(db.Model):
    """A resident's account in the credit bank. ``balance`` and ``entry_count`` are kept with
    every posting for quick display; `lms credits verify-ledger` checks them against the chain."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    account_no: Mapped[str40] = mapped_column(unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    opened_at: Mapped[utc_datetime] = mapped_column(default=utcnow)
    balance: Mapped[credits] = mapped_column(default=Decimal("0.0"))
    entry_count: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("year", "sequence"),)


OUTCOME_ONCE_WHERE = (
    "status IN ('pending', 'certified') AND course_id IS NULL AND attendance_id IS NULL"
)


class LearningOutcome(CreatedMixin, db.Model):
    """Something a resident learnt that the bank may turn into credits. An online course's
    outcome is certified by the system; offline ones wait for a registrar."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[OutcomeKind] = mapped_column(str_enum(OutcomeKind))
    title: Mapped[str200]
    hours: Mapped[hours]
    occurred_on: Mapped[date]
    issuer: Mapped[str100] = mapped_column(default="")
    description: Mapped[str] = mapped_column(Text, default="")
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    # An activity outcome names the attendance it stands for: one outcome per attendance.
    attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendance.id"), unique=True)
    status: Mapped[OutcomeStatus] = mapped_column(
        str_enum(OutcomeStatus), default=OutcomeStatus.PENDING, index=True
    )
    # Who decided and in whose name: a registrar, or the course's provider for the system.
    decided_at: Mapped[utc_datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    certifying_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    # What certification awarded (the ledger is the authority; this shows a capped zero too).
    credits: Mapped[Decimal | None] = mapped_column(Numeric(9, 1))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course | None] = relationship()
    category: Mapped[Category | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    certifying_unit: Mapped[OrgUnit | None] = relationship()
    attendance: Mapped[Attendance | None] = relationship()
    evidence: Mapped[list[OutcomeEvidence]] = relationship(
        back_populates="outcome", order_by="OutcomeEvidence.id"
    )

    # One outcome per resident and course, however often completion is signalled (and per
    # attendance, however often an activity is closed); and one
    # live (pending or certified) outcome per resident for the same offline learning, however
    # often the form is sent (a double tap, a retried request).
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        Index(
            "ix_learning_outcome_once",
            "user_id",
            "kind",
            "title",
            "occurred_on",
            "hours",
            unique=True,
            sqlite_where=text(OUTCOME_ONCE_WHERE),
            postgresql_where=text(OUTCOME_ONCE_WHERE),
        ),
    )


class OutcomeEvidence(db.Model):
    """A checked image or PDF attached to an offline outcome (stored under media/evidence/)."""

    id: Mapped[intpk]
    outcome_id: Mapped[int] = mapped_column(ForeignKey("learning_outcome.id"), index=True)
    path: Mapped[str200]
    filename: Mapped[str200]
    content_type: Mapped[str100]
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))

    outcome: Mapped[LearningOutcome] = relationship(back_populates="evidence")


class ConversionRule(CreatedMixin, db.Model):
    """How outcomes of a kind (and optionally a course category) become credits. Editing a rule
    adds a new version of its family and supersedes the old one; ledger entries name the
    version they used, so posted credits never change."""

    id: Mapped[intpk]
    family_id: Mapped[int | None] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[OutcomeKind] = mapped_column(str_enum(OutcomeKind))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    mode: Mapped[RuleMode] = mapped_column(str_enum(RuleMode))
    hours_per_credit: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    fixed_credits: Mapped[Decimal | None] = mapped_column(Numeric(9, 1))
    yearly_cap: Mapped[Decimal | None] = mapped_column(Numeric(9, 1))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    note: Mapped[str200] = mapped_column(default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    superseded_at: Mapped[utc_datetime | None]
    retired: Mapped[bool] = mapped_column(default=False)
    # Rules for credits from elsewhere (kind 外部转入) may name the trusted issuer and the
    # achievement type (Open Badges ``achievementType``) they apply to; ``credit_ratio`` is the
    # SOURCE mode's factor on the issuer's own credits.
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("trusted_issuer.id"))
    achievement_type: Mapped[str | None] = mapped_column(String(40))
    credit_ratio: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))

    category: Mapped[Category | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    issuer: Mapped[TrustedIssuer | None] = relationship()

    __table_args__ = (UniqueConstraint("family_id", "version"),)

    @property
    def current(self) -> bool:
        return self.superseded_at is None and not self.retired


class LedgerEntry(db.Model):
    """One posting (law 3). Never updated or deleted: a correction is a reversal entry naming
    the entry it reverses. ``hash`` covers the entry's canonical content and ``prev_hash``, the
    hash of the account's previous entry, so changing any row breaks the chain."""

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_account.id"), index=True)
    seq: Mapped[int]
    idempotency_key: Mapped[str100] = mapped_column(unique=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    amount: Mapped[credits]
    balance: Mapped[credits]
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("learning_outcome.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("conversion_rule.id"))
    memo: Mapped[str] = mapped_column(String(500), default="")
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    occurred_at: Mapped[utc_datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    account: Mapped[CreditAccount] = relationship()
    outcome: Mapped[LearningOutcome | None] = relationship()
    reverses: Mapped[LedgerEntry | None] = relationship(remote_side="LedgerEntry.id")
    rule: Mapped[ConversionRule | None] = relationship()
    posted_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("account_id", "seq"),)


class Transcript(db.Model):
    """An issued 学分证明: the signed snapshot is kept exactly as issued; ``code`` is the
    verification code printed in its QR link."""

    id: Mapped[intpk]
    serial: Mapped[str40] = mapped_column(unique=True)
    code: Mapped[str40]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_account.id"))
    issued_at: Mapped[utc_datetime]
    total_credits: Mapped[credits]
    document: Mapped[dict] = mapped_column(JSON)
    revoked_at: Mapped[utc_datetime | None]
    revoked_reason: Mapped[str] = mapped_column(String(500), default="")

    user: Mapped[User] = relationship()
    account: Mapped[CreditAccount] = relationship()


class TranscriptEntry(db.Model):
    """Which ledger entries a transcript lists, so reversing one revokes the transcript."""

    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), primary_key=True)


@event.listens_for(Session, "before_flush")
def _ledger_is_append_only(session: Session, flush_context, instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("ledger entries are never changed or deleted (law 3)")


class CredentialKind(enum.StrEnum):
    BADGE = "badge"
    RECORD = "record"

    @property
    def label(self) -> str:
        return str({"badge": _l("数字学分凭证"), "record": _l("数字学习档案")}[self.value])


class StandardCredential(db.Model):
    """An issued standard credential, kept exactly as signed: an Open Badges 3.0 badge for one
    standing ledger deposit, or a CLR 2.0 learner record for one transcript. ``status_list``
    and ``status_index`` are its bit in the published Bitstring Status List; the bit is set
    when the deposit is reversed or the transcript revoked (see ``credentials.status``)."""

    id: Mapped[intpk]
    credential_id: Mapped[str100] = mapped_column(unique=True)
    kind: Mapped[CredentialKind] = mapped_column(str_enum(CredentialKind))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    transcript_id: Mapped[int | None] = mapped_column(ForeignKey("transcript.id"), unique=True)
    status_list: Mapped[int]
    status_index: Mapped[int]
    issued_at: Mapped[utc_datetime]
    document: Mapped[dict] = mapped_column(JSON)

    user: Mapped[User] = relationship()
    entry: Mapped[LedgerEntry | None] = relationship()
    transcript: Mapped[Transcript | None] = relationship()

    __table_args__ = (UniqueConstraint("status_list", "status_index"),)


# Credits from elsewhere (学分互认) ---------------------------------------------------------------

TRUSTED_CURRENT_WHERE = "retired_at IS NULL"


class TrustedIssuer(CreatedMixin, db.Model):
    """An institution whose credentials the county accepts, kept by a county registrar: its
    DID, the public keys captured when it was added (from its DID document, fetched once, or
    pasted), so that checking an upload needs no network for the key; the web origin its
    revocation lists must come from; from which date and for which achievement types."""

    id: Mapped[intpk]
    name: Mapped[str200]
    did: Mapped[str200]
    keys: Mapped[list] = mapped_column(JSON)
    did_document: Mapped[dict | None] = mapped_column(JSON)
    origin: Mapped[str200] = mapped_column(default="")
    trusted_from: Mapped[date]
    achievement_types: Mapped[list] = mapped_column(JSON)
    note: Mapped[str200] = mapped_column(default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    retired_at: Mapped[utc_datetime | None]
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])

    __table_args__ = (
        Index(
            "ix_trusted_issuer_current",
            "did",
            unique=True,
            sqlite_where=text(TRUSTED_CURRENT_WHERE),
            postgresql_where=text(TRUSTED_CURRENT_WHERE),
        ),
    )

    @property
    def current(self) -> bool:
        return self.retired_at is None


class CredentialUpload(CreatedMixin, db.Model):
    """A credential file from elsewhere as it was uploaded (a badge or a whole learner
    record): the evidence behind the 外部转入 outcomes made from it."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("trusted_issuer.id"))
    kind: Mapped[CredentialKind] = mapped_column(str_enum(CredentialKind))
    credential_id: Mapped[str200]
    sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict] = mapped_column(JSON)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    issuer: Mapped[TrustedIssuer] = relationship()


class ImportedCredential(db.Model):
    """One achievement from elsewhere (a badge, alone or inside a learner record) and the
    外部转入 outcome it became. Certified, it is posted with the idempotency key ``ledger_key``
    (``credential:<its id>``), so it is credited once whoever uploads it how often. The nightly
    re-check reads its bit in the issuer's status list: ``revoked_at_source`` flags it for the
    registrars."""

    id: Mapped[intpk]
    upload_id: Mapped[int] = mapped_column(ForeignKey("credential_upload.id"), index=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("learning_outcome.id"), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("trusted_issuer.id"), index=True)
    credential_id: Mapped[str200] = mapped_column(index=True)
    ledger_key: Mapped[str100]
    achievement_type: Mapped[str40]
    source_credits: Mapped[Decimal | None] = mapped_column(Numeric(9, 1))
    position: Mapped[int | None]  # its place in the record's list; None for a lone badge
    status_url: Mapped[str] = mapped_column(String(500), default="")
    status_index: Mapped[int | None]
    checked_at: Mapped[utc_datetime | None]
    check_problem: Mapped[str] = mapped_column(String(500), default="")
    revoked_at_source: Mapped[utc_datetime | None] = mapped_column(index=True)

    upload: Mapped[CredentialUpload] = relationship()
    outcome: Mapped[LearningOutcome] = relationship()
    issuer: Mapped[TrustedIssuer] = relationship()


class LedgerCheckpoint(db.Model):
    """A signed statement of every account's chain head (sequence and hash) at one moment,
    kept for good (see ``credits.checkpoints``): ``root`` is the Merkle root over the heads,
    ``leaves`` the heads themselves (gzip, one line per account), ``document`` the signed
    statement exactly as published. The same files are written to the checkpoint folder
    outside the database, so that restoring an older database cannot take them back."""

    id: Mapped[intpk]
    number: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[utc_datetime]
    root: Mapped[str] = mapped_column(String(64))
    accounts: Mapped[int]
    entries: Mapped[int]
    document: Mapped[dict] = mapped_column(JSON)
    leaves: Mapped[bytes] = mapped_column(LargeBinary)

"""Accounts: the org tree (county → towns/streets → villages/communities), users, role grants
scoped to an org unit, API tokens and the sign-in attempts that rate limiting counts."""

from __future__ import annotations

import enum
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.models import CreatedMixin, intpk, str40, str100, str_enum, utc_datetime
from lms.core.time import utcnow
from lms.extensions import db


class Level(enum.StrEnum):
    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"

    @property
    def label(self) -> str:
        return str(
            {"county": _l("县"), "town": _l("镇（街道）"), "village": _l("村（社区）")}[self.value]
        )

    @property
    def child(self) -> Level | None:
        return {Level.COUNTY: Level.TOWN, Level.TOWN: Level.VILLAGE}.get(self)


class Role(enum.StrEnum):
    RESIDENT = "resident"
    TEACHER = "teacher"
    ADMIN = "admin"
    REGISTRAR = "registrar"

    @property
    def label(self) -> str:
        return str(
            {
                "resident": _l("居民"),
                "teacher": _l("教师"),
                "admin": _l("管理员"),
                "registrar": _l("学分银行专员"),
            }[self.value]
        )


class OrgUnit(db.Model):
    """A node of the county's three-level network. ``path`` ("/1/4/17/") makes subtree
    questions one indexed prefix comparison."""

    id: Mapped[intpk]
    code: Mapped[str40] = mapped_column(unique=True)
    name: Mapped[str100]
    level: Mapped[Level] = mapped_column(str_enum(Level))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    population: Mapped[int] = mapped_column(default=0)
    path: Mapped[str] = mapped_column(String(255), index=True, default="")

    parent: Mapped[OrgUnit | None] = relationship(
        remote_side="OrgUnit.id", back_populates="children"
    )
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="OrgUnit.code")

    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    def contains(self, other: OrgUnit) -> bool:
        """True when *other* is this unit or lies below it."""
        return other.path.startswith(self.path)

    @property
    def full_name(self) -> str:
        names, unit = [], self
        while unit is not None:
            names.append(unit.name)
            unit = unit.parent
        return " / ".join(reversed(names))

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"


def _session_nonce() -> str:
    return secrets.token_hex(8)


class User(CreatedMixin, db.Model):
    """A person who signs in with a mainland mobile number."""

    id: Mapped[intpk]
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    name: Mapped[str40]
    password_hash: Mapped[str] = mapped_column(String(255))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    birth_year: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Set by staff (代注册, password reset, import): the password is a one-time password that
    # the person must replace at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Personal data sealed at rest (accounts/sealing.py, DESIGN law 8).
    gender_sealed: Mapped[str | None] = mapped_column(Text)
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    # Changing the password changes the nonce, which signs out every other session.
    session_nonce: Mapped[str] = mapped_column(String(16), default=_session_nonce)
    # 长辈模式 remembered on the account (lms/accounts/elderly.py): the main text size in px
    # while it is on (20–30), None while it is off.
    elderly_text_px: Mapped[int | None]

    org_unit: Mapped[OrgUnit] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id", cascade="all, delete-orphan"
    )

    # Flask-Login
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_nonce}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def roles(self) -> set[Role]:
        return {grant.role for grant in self.grants}

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def new_session_nonce(self) -> None:
        self.session_nonce = _session_nonce()

    @property
    def gender(self) -> str | None:
        from lms.accounts.sealing import unseal

        return unseal(self.gender_sealed)

    @property
    def id_number(self) -> str | None:
        from lms.accounts.sealing import unseal

        return unseal(self.id_number_sealed)

    @property
    def masked_id_number(self) -> str:
        from lms.accounts.sealing import mask_id_number

        return mask_id_number(self.id_number)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.masked_phone}>"


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


class RoleGrant(CreatedMixin, db.Model):
    """*user* holds *role* over *org_unit* and everything below it."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    org_unit: Mapped[OrgUnit] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])

    __table_args__ = (UniqueConstraint("user_id", "role", "org_unit_id"),)


class ApiToken(CreatedMixin, db.Model):
    """A bearer token for the API. Only its SHA-256 is stored."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[utc_datetime]
    revoked_at: Mapped[utc_datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """One sign-in attempt; failures within a window are counted per phone and per address."""

    id: Mapped[intpk]
    phone: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    attempted_at: Mapped[utc_datetime]

    __table_args__ = (
        Index("ix_login_attempt_phone_at", "phone", "attempted_at"),
        Index("ix_login_attempt_address_at", "address", "attempted_at"),
    )


class SignUpAttempt(db.Model):
    """One self sign-up, made or refused, by address and phone prefix (the first 7 digits: a
    number block), so that sign-ups can be rate-limited by either."""

    id: Mapped[intpk]
    address: Mapped[str] = mapped_column(String(64))
    phone_prefix: Mapped[str] = mapped_column(String(7))
    attempted_at: Mapped[utc_datetime]

    __table_args__ = (
        Index("ix_sign_up_attempt_address_at", "address", "attempted_at"),
        Index("ix_sign_up_attempt_prefix_at", "phone_prefix", "attempted_at"),
    )


class Notice(CreatedMixin, db.Model):
    """An in-site message to one user (a decision on their outcome, a revoked transcript …)."""

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(200))
    read_at: Mapped[utc_datetime | None]

    user: Mapped[User] = relationship()


class AuditEntry(db.Model):
    """Who did what to whom, when and from where: staff actions on people (registered on their
    behalf, password reset, deactivated and reactivated, details corrected, imported, roles
    granted and withdrawn), certifications of course hours. Written by operations, never
    changed. ``detail`` never holds a password or an ID number."""

    id: Mapped[intpk]
    at: Mapped[utc_datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)  # None: CLI
    action: Mapped[str40] = mapped_column(index=True)
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(45))

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])

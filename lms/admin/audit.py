"""The audit trail of staff actions, read by county administrators: a filtered query and the
rows of its export. (The entries are written by accounts.operations.audit.)"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased, selectinload

from lms.accounts.models import AuditEntry, User
from lms.core.time import display_zone, local

ACTIONS = {
    "person_registered": _l("代注册"),
    "password_reset": _l("重置密码"),
    "person_deactivated": _l("停用账号"),
    "person_reactivated": _l("恢复账号"),
    "person_updated": _l("更正信息"),
    "person_imported": _l("导入新居民"),
    "person_import_updated": _l("导入更新"),
    "residents_imported": _l("批量导入"),
    "role_granted": _l("授予角色"),
    "role_withdrawn": _l("撤销角色"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def audit_query(
    *, action: str | None = None, who: str | None = None, since=None, until=None
) -> Select:
    """Entries newest first, filtered by action, by a name or phone of the actor or the person
    acted on, and by local dates (inclusive)."""
    query = (
        select(AuditEntry)
        .options(selectinload(AuditEntry.actor), selectinload(AuditEntry.subject_user))
        .order_by(AuditEntry.id.desc())
    )
    if action:
        query = query.where(AuditEntry.action == action)
    if who:
        actor, subject = aliased(User), aliased(User)
        query = (
            query.outerjoin(actor, AuditEntry.actor_id == actor.id)
            .outerjoin(subject, AuditEntry.subject_user_id == subject.id)
            .where(
                or_(
                    *(
                        column.contains(who, autoescape=True)
                        for column in (actor.name, actor.phone, subject.name, subject.phone)
                    )
                )
            )
        )
    if since:
        query = query.where(AuditEntry.at >= _utc_start(_clamp(since)))
    if until:
        query = query.where(AuditEntry.at < _utc_start(_clamp(until) + timedelta(days=1)))
    return query


# Dates outside these (0001-01-01, 9999-12-31) would overflow once shifted by a day or a zone.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _clamp(day: date) -> date:
    return min(max(day, FIRST_DAY), LAST_DAY)


def _utc_start(day) -> datetime:
    return datetime.combine(day, time(), tzinfo=display_zone())


HEADERS = ["时间", "操作人", "操作人手机号", "操作", "对象", "对象手机号", "详情", "来源地址"]


def export_rows(entries):
    for entry in entries:
        yield [
            local(entry.at).replace(tzinfo=None),
            entry.actor.name if entry.actor else "系统",
            entry.actor.phone if entry.actor else "",
            action_label(entry.action),
            entry.subject_user.name if entry.subject_user else "",
            entry.subject_user.phone if entry.subject_user else "",
            _detail(entry.detail),
            entry.address or "",
        ]


def _detail(detail: dict) -> str:
    return "; ".join(f"{key}={value}" for key, value in (detail or {}).items())

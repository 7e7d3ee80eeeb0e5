"""Admin API: the audit trail of staff actions, for county administrators."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from lms.accounts import access
from lms.admin import api_bp
from lms.admin.audit import action_label, audit_query
from lms.core.api import ApiError, Page, endpoint
from lms.core.paging import paginate


class AuditQuery(Page):
    action: str | None = Field(None, max_length=40)
    who: str | None = Field(None, max_length=40, description="name or phone of actor or person")
    since: date | None = None
    until: date | None = None


class AuditPerson(BaseModel):
    id: int
    name: str
    phone: str


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: AuditPerson | None
    action: str
    action_label: str
    subject: AuditPerson | None
    detail: dict
    address: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    page: int
    per_page: int


def _person(user) -> AuditPerson | None:
    return AuditPerson(id=user.id, name=user.name, phone=user.phone) if user else None


@endpoint(
    api_bp,
    "/admin/audit",
    "GET",
    summary="操作日志（县级管理员）",
    query=AuditQuery,
    response=AuditPage,
)
def audit_entries(query: AuditQuery):
    if not access.is_county_admin(current_user):
        raise ApiError(403, "forbidden", _("只有县级管理员可以查看操作日志"))
    found = paginate(
        audit_query(action=query.action, who=query.who, since=query.since, until=query.until),
        page=query.page,
        per_page=query.per_page,
    )
    return AuditPage(
        items=[
            AuditEntryOut(
                id=entry.id,
                at=entry.at,
                actor=_person(entry.actor),
                action=entry.action,
                action_label=action_label(entry.action),
                subject=_person(entry.subject_user),
                detail=entry.detail or {},
                address=entry.address,
            )
            for entry in found.items
        ],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    ).model_dump(mode="json")

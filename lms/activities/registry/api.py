"""The registry in the JSON API: the 讲师团 and 志愿者队伍 of the caller's units (staff), a
resident's application, deciding one, and who teaches and serves at an activity. Contacts are
masked as on the pages (DESIGN law 8)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask import abort
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from lms.accounts.models import OrgUnit
from lms.activities.access import get_activity_or_404
from lms.activities.models import Activity
from lms.activities.registry import access, api_bp, operations
from lms.activities.registry.models import (
    ActivityLecturer,
    ActivityVolunteer,
    Lecturer,
    Volunteer,
    VolunteerStatus,
)
from lms.core.api import Id, Page, Schema, endpoint
from lms.core.models import MAX_ID
from lms.core.paging import paginate
from lms.extensions import db


class LecturerOut(BaseModel):
    id: int
    unit_id: int
    unit: str
    name: str
    subjects: str
    qualification: str
    contact: str
    linked_account: bool
    talent_pool: bool
    active: bool


class VolunteerOut(BaseModel):
    id: int
    unit_id: int
    unit: str
    name: str
    contact: str
    skills: str
    availability: str
    status: str
    reason: str
    talent_pool: bool
    applied_at: datetime
    decided_at: datetime | None


class LecturerPage(BaseModel):
    items: list[LecturerOut]
    total: int
    page: int
    per_page: int


class VolunteerPage(BaseModel):
    items: list[VolunteerOut]
    total: int
    page: int
    per_page: int


class RegistryQuery(Page):
    q: str | None = Field(None, max_length=40)
    unit_id: Id | None = None
    pool: bool | None = None


class VolunteerQuery(RegistryQuery):
    status: Literal["pending", "approved", "refused", "withdrawn"] = "approved"


class LecturerIn(Schema):
    unit_id: Id
    name: str = Field(max_length=40)
    subjects: str = Field(max_length=200)
    qualification: str = Field("", max_length=200)
    phone: str = Field("", max_length=20)
    bio: str = Field("", max_length=2000)
    talent_pool: bool = False


class ApplicationIn(Schema):
    skills: str = Field(max_length=200)
    availability: str = Field(max_length=200)
    note: str = Field("", max_length=500)


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=500)


class AssignmentIn(Schema):
    topic: str = Field("", max_length=200, description="讲师：讲授内容；志愿者：服务内容")
    hours: Decimal | None = Field(None, gt=0, le=24, decimal_places=1)


class AssignmentOut(BaseModel):
    id: int
    person_id: int
    name: str
    contact: str
    topic: str
    hours: float | None
    served_hours: float | None
    recorded_at: datetime | None
    residents_came: int | None = None


class StaffOut(BaseModel):
    activity_id: int
    lecturers: list[AssignmentOut]
    volunteers: list[AssignmentOut]


def _number(value) -> float | None:
    return None if value is None else float(value)


def lecturer_out(item: Lecturer) -> dict:
    return LecturerOut(
        id=item.id,
        unit_id=item.org_unit_id,
        unit=item.org_unit.full_name,
        name=item.name,
        subjects=item.subjects,
        qualification=item.qualification,
        contact=access.shown_contact(current_user, item),
        linked_account=item.user_id is not None,
        talent_pool=item.talent_pool,
        active=item.active,
    ).model_dump(mode="json")


def volunteer_out(item: Volunteer) -> dict:
    return VolunteerOut(
        id=item.id,
        unit_id=item.org_unit_id,
        unit=item.org_unit.full_name,
        name=item.name,
        contact=access.shown_contact(current_user, item),
        skills=item.skills,
        availability=item.availability,
        status=str(item.status),
        reason=item.reason,
        talent_pool=item.talent_pool,
        applied_at=item.created_at,
        decided_at=item.decided_at,
    ).model_dump(mode="json")


def _filtered(query, model, filters: RegistryQuery, text_columns):
    if filters.q and filters.q.strip():
        q = " ".join(filters.q.split())
        query = query.where(
            or_(*(column.contains(q, autoescape=True) for column in (model.name, *text_columns)))
        )
    if filters.unit_id is not None:
        unit = access.get_unit_in_scope_or_404(current_user, filters.unit_id)
        query = query.where(OrgUnit.path.startswith(unit.path, autoescape=True))
    if filters.pool:
        query = query.where(model.talent_pool.is_(True))
    return query


@endpoint(
    api_bp,
    "/lecturers",
    "GET",
    summary="管理员：本单位及下级单位的讲师团（可按姓名/领域、单位、后备人才库筛选）",
    query=RegistryQuery,
    response=LecturerPage,
)
def list_lecturers(query: RegistryQuery):
    access.require_staff(current_user)
    selected = _filtered(
        access.lecturers_query(current_user),
        Lecturer,
        query,
        (Lecturer.subjects, Lecturer.qualification),
    )
    page = paginate(
        selected.order_by(Lecturer.name, Lecturer.id), page=query.page, per_page=query.per_page
    )
    return LecturerPage(
        items=[lecturer_out(item) for item in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/lecturers",
    "POST",
    summary="管理员：登记讲师（所填手机号属于本人管理的居民时关联其账号）",
    body=LecturerIn,
    response=LecturerOut,
    status=201,
)
def create_lecturer(body: LecturerIn):
    access.require_staff(current_user)
    lecturer = operations.add_lecturer(
        current_user,
        unit=access.get_unit_in_scope_or_404(current_user, body.unit_id),
        name=body.name,
        phone=body.phone,
        subjects=body.subjects,
        qualification=body.qualification,
        bio=body.bio,
        talent_pool=body.talent_pool,
    )
    db.session.commit()
    return lecturer_out(lecturer), 201


@endpoint(
    api_bp,
    "/volunteers",
    "GET",
    summary="管理员：本单位及下级单位的志愿者或待审核的申请（status），可筛选后备人才库",
    query=VolunteerQuery,
    response=VolunteerPage,
)
def list_volunteers(query: VolunteerQuery):
    access.require_staff(current_user)
    selected = _filtered(
        access.volunteers_query(current_user),
        Volunteer,
        query,
        (Volunteer.skills, Volunteer.availability),
    ).where(Volunteer.status == VolunteerStatus(query.status))
    page = paginate(
        selected.order_by(Volunteer.created_at, Volunteer.id),
        page=query.page,
        per_page=query.per_page,
    )
    return VolunteerPage(
        items=[volunteer_out(item) for item in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/me/volunteer",
    "PUT",
    summary="居民申请成为志愿者（所在单位的管理员审核）；未通过后可再次申请",
    body=ApplicationIn,
    response=VolunteerOut,
    status=201,
)
def apply(body: ApplicationIn):
    volunteer = operations.apply_to_volunteer(
        current_user, skills=body.skills, availability=body.availability, note=body.note
    )
    db.session.commit()
    return volunteer_out(volunteer), 201


@endpoint(
    api_bp,
    "/volunteers/<int:volunteer_id>/decision",
    "POST",
    summary="管理员：通过或不通过志愿者申请（不通过须写明原因，居民会收到通知）",
    body=DecisionIn,
    response=VolunteerOut,
)
def decide(volunteer_id: int, body: DecisionIn):
    volunteer = access.get_volunteer_or_404(current_user, volunteer_id)
    operations.decide_volunteer(current_user, volunteer, approve=body.approve, reason=body.reason)
    db.session.commit()
    return volunteer_out(volunteer)


# An activity's lecturers and volunteers -------------------------------------------------------


def _activity_or_404(activity_id: int) -> Activity:
    """The activity, for its organisers (the activities' own loader); else 404."""
    return get_activity_or_404(activity_id, user=current_user, to_organise=True)


def _staff_out(activity: Activity) -> dict:
    lecturers = db.session.scalars(
        select(ActivityLecturer).filter_by(activity_id=activity.id).order_by(ActivityLecturer.id)
    ).all()
    volunteers = db.session.scalars(
        select(ActivityVolunteer).filter_by(activity_id=activity.id).order_by(ActivityVolunteer.id)
    ).all()
    return StaffOut(
        activity_id=activity.id,
        lecturers=[
            AssignmentOut(
                id=row.id,
                person_id=row.lecturer_id,
                name=row.lecturer.name,
                contact=access.shown_contact(current_user, row.lecturer),
                topic=row.topic,
                hours=_number(row.hours),
                served_hours=_number(row.served_hours),
                recorded_at=row.recorded_at,
                residents_came=row.residents_came,
            )
            for row in lecturers
        ],
        volunteers=[
            AssignmentOut(
                id=row.id,
                person_id=row.volunteer_id,
                name=row.volunteer.name,
                contact=access.shown_contact(current_user, row.volunteer),
                topic=row.duty,
                hours=_number(row.hours),
                served_hours=_number(row.served_hours),
                recorded_at=row.recorded_at,
            )
            for row in volunteers
        ],
    ).model_dump(mode="json")


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/staff",
    "GET",
    summary="管理员：活动的授课讲师和服务志愿者（活动结束后含记录的服务时长和到场人数）",
    response=StaffOut,
)
def staff(activity_id: int):
    return _staff_out(_activity_or_404(activity_id))


def _person_or_404(model, person_id: int):
    person = db.session.get(model, person_id) if 0 < person_id <= MAX_ID else None
    if person is None:
        abort(404)
    return person


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/lecturers/<int:lecturer_id>",
    "PUT",
    summary="管理员：安排讲师团中的讲师到活动授课（不在本人管理范围的讲师 403）",
    body=AssignmentIn,
    response=StaffOut,
)
def put_lecturer(activity_id: int, lecturer_id: int, body: AssignmentIn):
    activity = _activity_or_404(activity_id)
    lecturer = _person_or_404(Lecturer, lecturer_id)
    operations.assign_lecturer(current_user, activity, lecturer, topic=body.topic, hours=body.hours)
    db.session.commit()
    return _staff_out(activity)


@endpoint(
    api_bp,
    "/activities/<int:activity_id>/volunteers/<int:volunteer_id>",
    "PUT",
    summary="管理员：安排已通过审核的志愿者到活动服务（不在本人管理范围的 403）",
    body=AssignmentIn,
    response=StaffOut,
)
def put_volunteer(activity_id: int, volunteer_id: int, body: AssignmentIn):
    activity = _activity_or_404(activity_id)
    volunteer = _person_or_404(Volunteer, volunteer_id)
    operations.assign_volunteer(
        current_user, activity, volunteer, duty=body.topic, hours=body.hours
    )
    db.session.commit()
    return _staff_out(activity)

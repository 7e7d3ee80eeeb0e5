"""The demo county's 讲师团 and 志愿者队伍: lecturers of the county and of 福集镇 (two linked to
the demo teachers' accounts), volunteers approved, waiting and refused (some in the 后备人才库),
and who taught and served at the demo activities. Written through the operations, as staff
would; ``lms.activities.demo`` calls :func:`load_registry` before the activities and
:func:`staff_activity` for each activity before it closes (closing records the hours)."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.accounts.models import OrgUnit, Role, RoleGrant, User
from lms.activities.models import Activity, ActivityKind
from lms.activities.registry import access, operations
from lms.activities.registry.models import Lecturer, Volunteer, VolunteerStatus
from lms.extensions import db

# (unit: None for the county, name, phone or "", subjects, qualification, 后备人才库)
LECTURERS = [
    (None, "何明德", "", "智能手机使用、防范电信诈骗", "县社区教育学院高级讲师", False),
    (None, "周玉兰", "", "中医养生、慢病防治", "执业中医师", True),
    (None, "唐志强", "", "柑橘栽培、果树修剪", "农艺师", False),
    (None, "李秀英", "13900000001", "书法、家风家训", "中学高级教师", False),
    ("福集镇", "王建国", "13900000002", "电商直播、短视频制作", "福集镇社区学校教师", True),
    ("福集镇", "罗春梅", "", "广场舞、健身操", "社会体育指导员", False),
]
# (resident's phone, skills, availability, decision: "approve" | "refuse" | None, 后备人才库)
VOLUNTEERS = [
    ("13700000002", "会用电脑，能帮老人用手机", "周末全天", "approve", True),
    ("13700000003", "维持秩序、签到引导", "工作日晚上", "approve", False),
    ("13700000005", "摄影、写简报", "周六上午", "approve", False),
    ("13700000004", "会讲四川评书", "每周三下午", None, False),
    ("13700000006", "帮忙布置场地", "不固定", "refuse", False),
]
REFUSAL = "请先参加一次志愿者培训，培训后欢迎再次申请"


def _admin(unit: OrgUnit) -> User | None:
    return db.session.scalar(
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.ADMIN, RoleGrant.org_unit_id == unit.id)
        .limit(1)
    )


def load_registry() -> tuple[int, int]:
    """Load the lecturers and volunteers; returns how many of each."""
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
    county_admin = _admin(county)
    for unit_name, name, phone, subjects, qualification, pool in LECTURERS:
        unit = (
            county
            if unit_name is None
            else db.session.scalar(select(OrgUnit).filter_by(name=unit_name))
        )
        operations.add_lecturer(
            _admin(unit) or county_admin,
            unit=unit,
            name=name,
            phone=phone,
            subjects=subjects,
            qualification=qualification,
            talent_pool=pool,
        )
    for phone, skills, availability, decision, pool in VOLUNTEERS:
        resident = db.session.scalar(select(User).filter_by(phone=phone))
        if resident is None:
            continue
        volunteer = operations.apply_to_volunteer(
            resident, skills=skills, availability=availability
        )
        if decision is not None:
            operations.decide_volunteer(
                county_admin, volunteer, approve=decision == "approve", reason=REFUSAL
            )
        if pool:
            operations.update_volunteer(
                county_admin, volunteer, skills=skills, availability=availability, talent_pool=True
            )
    operations.add_volunteer(
        county_admin,
        unit=db.session.scalar(select(OrgUnit).filter_by(name="福集镇")) or county,
        name="赵大爷",
        phone="13912340000",
        skills="老党员，熟悉村情，组织动员",
        availability="随叫随到",
    )
    db.session.flush()
    return (
        db.session.scalar(select(func.count()).select_from(Lecturer)),
        db.session.scalar(select(func.count()).select_from(Volunteer)),
    )


def staff_activity(activity: Activity, organiser: User) -> None:
    """A lecturer for a 讲堂, 送课进社区 or 培训, and a volunteer for every activity, chosen in
    turn from those the organiser keeps."""
    turn = activity.id
    if activity.kind in (ActivityKind.LECTURE, ActivityKind.COMMUNITY, ActivityKind.TRAINING):
        lecturers = db.session.scalars(
            access.lecturers_query(organiser).order_by(Lecturer.id)
        ).all()
        if lecturers:
            operations.assign_lecturer(
                organiser, activity, lecturers[turn % len(lecturers)], topic=activity.title[:200]
            )
    volunteers = db.session.scalars(
        access.volunteers_query(organiser)
        .where(Volunteer.status == VolunteerStatus.APPROVED)
        .order_by(Volunteer.id)
    ).all()
    if volunteers:
        operations.assign_volunteer(
            organiser, activity, volunteers[turn % len(volunteers)], duty="签到引导"
        )

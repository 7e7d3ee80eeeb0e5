"""The lecturer and volunteer registry: scope, masked contacts, the application flow, choosing
lecturers and volunteers for an activity, and the service hours and volunteer outcome recorded
exactly once when the activity closes."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from lms.accounts.models import Notice, Role
from lms.activities import operations as activities
from lms.activities.models import Activity, ActivityKind, Attendance, CheckInMethod
from lms.activities.registry import access, operations
from lms.activities.registry.models import (
    ActivityLecturer,
    ActivityVolunteer,
    Lecturer,
    Volunteer,
    VolunteerStatus,
)
from lms.core import signals
from lms.core.time import utcnow
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeKind, OutcomeStatus
from lms.extensions import db
from tests.conftest import api_token, sign_in, unit


def make_activity(unit_name: str = "福集镇", *, kind=ActivityKind.LECTURE, hours="2.0", **values):
    """An activity that took place this morning (built directly: this file tests the registry)."""
    now = utcnow()
    activity = Activity(
        unit_id=unit(unit_name).id,
        kind=kind,
        title=values.pop("title", "健康养生讲堂"),
        place=values.pop("place", "镇文化站二楼"),
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=1),
        hours=Decimal(hours),
        **values,
    )
    db.session.add(activity)
    db.session.commit()
    return activity


def close(activity: Activity) -> None:
    """The organiser closes the activity (the activities' operation, which sends
    ``activity_closed``)."""
    activities.close_activity(activity)
    db.session.commit()


@pytest.fixture
def town_admin(create_user):
    return create_user(Role.ADMIN, "福集镇", name="福集管理员")


@pytest.fixture
def county_admin(create_user):
    return create_user(Role.ADMIN, "泸县", name="县管理员")


def test_lecturers_are_kept_within_the_staffs_units_and_contacts_are_masked(
    client, town_admin, county_admin, create_user
):
    teacher = create_user(Role.TEACHER, "福集镇一村", name="张老师")
    lecturer = operations.add_lecturer(
        town_admin,
        unit=unit("福集镇一村"),
        name="张老师",
        phone=teacher.phone,
        subjects="智能手机",
        qualification="中学高级教师",
    )
    db.session.commit()
    assert lecturer.user_id == teacher.id  # the number of someone the admin looks after links
    with pytest.raises(Exception, match="只能登记到您管理的单位") as refused:
        operations.add_lecturer(town_admin, unit=unit("嘉明镇"), name="李四", subjects="法律")
    assert refused.value.status == 403
    db.session.rollback()

    other_admin = db.session.merge(town_admin)
    jiaming_admin = create_user(Role.ADMIN, "嘉明镇", name="嘉明管理员")
    stranger = create_user(name="路人")
    full, masked = teacher.phone, f"{teacher.phone[:3]}****{teacher.phone[-4:]}"
    assert access.shown_contact(other_admin, lecturer) == full  # keeps the unit
    assert access.shown_contact(county_admin, lecturer) == full  # above it
    assert access.shown_contact(teacher, lecturer) == full  # the lecturer themself
    assert access.shown_contact(jiaming_admin, lecturer) == masked
    # A teacher of the town organises activities and keeps its lecturers, but is no
    # administrator of theirs: the number is masked for them.
    town_teacher = create_user(Role.TEACHER, "福集镇", name="福集老师")
    kept = client.get("/api/v1/lecturers", headers=api_token(client, town_teacher)).get_json()
    assert [item["contact"] for item in kept["items"]] == [masked]
    assert access.shown_contact(stranger, lecturer) == masked

    # The API lists only the units the caller keeps; a unit outside them is not found.
    listed = client.get("/api/v1/lecturers", headers=api_token(client, jiaming_admin))
    assert listed.status_code == 200
    assert listed.get_json()["total"] == 0
    mine = client.get("/api/v1/lecturers?pool=false", headers=api_token(client, county_admin))
    assert [item["contact"] for item in mine.get_json()["items"]] == [full]
    outside = client.post(
        "/api/v1/lecturers",
        headers=api_token(client, jiaming_admin),
        json={"unit_id": unit("福集镇").id, "name": "王五", "subjects": "书法"},
    )
    assert outside.status_code == 404
    resident_asks = client.get("/api/v1/lecturers", headers=api_token(client, stranger))
    assert resident_asks.status_code == 403
    assert "管理员" in resident_asks.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Lecturer)) == 1


def test_a_lecturer_outside_the_organisers_scope_is_refused(client, town_admin, county_admin):
    activity = make_activity("福集镇")
    ours = operations.add_lecturer(
        town_admin, unit=unit("福集镇"), name="张老师", subjects="智能手机"
    )
    theirs = operations.add_lecturer(
        county_admin, unit=unit("嘉明镇"), name="李老师", subjects="果树栽培"
    )
    db.session.commit()
    headers = api_token(client, town_admin)

    refused = client.put(
        f"/api/v1/activities/{activity.id}/lecturers/{theirs.id}", headers=headers, json={}
    )
    assert refused.status_code == 403
    assert "不在您管理的讲师团中" in refused.get_json()["error"]["message"]
    sign_in(client, town_admin)
    page = client.post(
        f"/activities/{activity.id}/staff/lecturers",
        data={"lecturer-lecturer_id": theirs.id, "lecturer-topic": "嫁接"},
    )
    assert page.status_code == 403
    assert "不在您管理的讲师团中" in page.get_data(as_text=True)
    bad_hours = client.post(
        f"/activities/{activity.id}/staff/lecturers",
        data={"lecturer-lecturer_id": ours.id, "lecturer-hours": "-1"},
    )
    assert bad_hours.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ActivityLecturer)) == 0

    chosen = client.put(
        f"/api/v1/activities/{activity.id}/lecturers/{ours.id}",
        headers=headers,
        json={"topic": "用手机挂号", "hours": 1.5},
    )
    assert chosen.status_code == 200, chosen.get_json()
    assert chosen.get_json()["lecturers"][0]["topic"] == "用手机挂号"
    again = client.put(  # choosing again changes, never doubles
        f"/api/v1/activities/{activity.id}/lecturers/{ours.id}",
        headers=headers,
        json={"topic": "用手机挂号"},
    )
    assert again.status_code == 200
    assert len(again.get_json()["lecturers"]) == 1
    assert client.get(f"/activities/{activity.id}/staff").status_code == 200
    public = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "张老师" in public
    assert "用手机挂号" in public
    assert f"/activities/{activity.id}/staff" in client.get(
        f"/activities/{activity.id}/manage"
    ).get_data(as_text=True)
    other_town = make_activity("嘉明镇")
    assert client.get(f"/activities/{other_town.id}/staff").status_code == 404


def test_residents_apply_and_staff_approve_or_refuse_with_a_reason(
    client, resident, town_admin, create_user
):
    headers = api_token(client, resident)
    body = {"skills": "会用电脑，能教广场舞", "availability": "周末上午"}
    applied = client.put("/api/v1/me/volunteer", headers=headers, json=body)
    assert applied.status_code == 201
    assert applied.get_json()["status"] == "pending"
    assert client.put("/api/v1/me/volunteer", headers=headers, json=body).status_code == 409
    volunteer_id = applied.get_json()["id"]

    jiaming_admin = create_user(Role.ADMIN, "嘉明镇", name="嘉明管理员")
    decision = f"/api/v1/volunteers/{volunteer_id}/decision"
    assert (
        client.post(
            decision, headers=api_token(client, jiaming_admin), json={"approve": True}
        ).status_code
        == 404
    )
    admin_headers = api_token(client, town_admin)
    no_reason = client.post(decision, headers=admin_headers, json={"approve": False})
    assert no_reason.status_code == 422
    assert "原因" in no_reason.get_json()["error"]["message"]
    refused = client.post(
        decision, headers=admin_headers, json={"approve": False, "reason": "请先参加一次培训"}
    )
    assert refused.status_code == 200
    assert refused.get_json()["status"] == "refused"
    notice = db.session.scalars(select(Notice).filter_by(user_id=resident.id)).one()
    assert notice.title == "您的志愿者申请未通过"
    assert notice.body == "请先参加一次培训"
    twice = client.post(decision, headers=admin_headers, json={"approve": True})
    assert twice.status_code == 409

    reopened = client.put("/api/v1/me/volunteer", headers=headers, json=body)
    assert reopened.status_code == 201
    assert reopened.get_json()["id"] == volunteer_id
    sign_in(client, town_admin)
    pending = client.get("/activities/volunteers?status=pending").get_data(as_text=True)
    assert "王芳" in pending
    approved = client.post(
        f"/activities/volunteers/{volunteer_id}/decision", data={"decision": "approve"}
    )
    assert approved.status_code == 302
    volunteer = db.session.get(Volunteer, volunteer_id)
    db.session.refresh(volunteer)
    assert volunteer.status is VolunteerStatus.APPROVED
    assert (
        db.session.scalar(select(func.count()).select_from(Notice).filter_by(user_id=resident.id))
        == 2
    )

    # The 后备人才库 flag, and the filter staff find candidates by.
    client.post(
        f"/activities/volunteers/{volunteer_id}",
        data={"skills": volunteer.skills, "availability": "", "talent_pool": "y"},
    )
    found = client.get("/api/v1/volunteers?pool=true&q=广场舞", headers=admin_headers).get_json()
    assert [item["id"] for item in found["items"]] == [volunteer_id]
    assert (
        client.get("/api/v1/volunteers?pool=true&q=书法", headers=admin_headers).get_json()["total"]
        == 0
    )


def test_closing_records_service_hours_and_one_volunteer_outcome(resident, town_admin, create_user):
    activity = make_activity("福集镇", kind=ActivityKind.COMMUNITY, title="送课进社区：防诈骗")
    lecturer = operations.add_lecturer(
        town_admin, unit=unit("福集镇"), name="张老师", subjects="防诈骗"
    )
    volunteer = operations.apply_to_volunteer(resident, skills="引导", availability="周末")
    db.session.flush()
    operations.decide_volunteer(town_admin, volunteer, approve=True)
    walk_in = operations.add_volunteer(
        town_admin, unit=unit("福集镇二村"), name="赵大爷", phone="13900001111", skills="摄影"
    )
    operations.assign_lecturer(town_admin, activity, lecturer, topic="识别电信诈骗")
    operations.assign_volunteer(town_admin, activity, volunteer, duty="签到引导", hours="3")
    operations.assign_volunteer(town_admin, activity, walk_in, duty="拍照")
    for number, voided in ((1, False), (2, False), (3, True)):
        person = create_user(name=f"居民{number}")
        db.session.add(
            Attendance(
                activity_id=activity.id,
                user_id=person.id,
                method=CheckInMethod.HAND,
                voided_at=utcnow() if voided else None,
            )
        )
    db.session.commit()

    close(activity)
    # The signal again (a retried task, a second close racing the first) records nothing.
    signals.activity_closed.send(activity)
    assert operations.record_service(activity) == 0
    db.session.commit()

    taught = db.session.scalars(select(ActivityLecturer)).one()
    assert (taught.served_hours, taught.residents_came) == (Decimal("2.0"), 2)
    served = {
        row.volunteer.name: row.served_hours
        for row in db.session.scalars(select(ActivityVolunteer))
    }
    assert served == {"王芳": Decimal("3.0"), "赵大爷": Decimal("2.0")}
    outcomes = db.session.scalars(
        select(LearningOutcome).filter_by(kind=OutcomeKind.VOLUNTEER)
    ).all()
    assert len(outcomes) == 1  # the walk-in volunteer has no account
    outcome = outcomes[0]
    assert outcome.user_id == resident.id
    assert outcome.status is OutcomeStatus.CERTIFIED
    assert outcome.hours == Decimal("3.0")
    assert outcome.certifying_unit_id == unit("福集镇").id
    assert outcome.title == "志愿服务：送课进社区：防诈骗"
    entries = db.session.scalars(select(LedgerEntry).filter_by(outcome_id=outcome.id)).all()
    assert len(entries) == 1
    assert entries[0].amount == Decimal("0.2")

    with pytest.raises(Exception, match="活动已结束"):
        operations.assign_lecturer(town_admin, activity, lecturer)


def test_parallel_closes_record_one_volunteer_outcome(app, resident, town_admin):
    """Four workers record the same activity's service at once (what each close's hand-off
    does): whatever the interleaving, one record of hours and one outcome with one posting."""
    activity = make_activity("福集镇")
    volunteer = operations.apply_to_volunteer(resident, skills="引导", availability="周末")
    db.session.flush()
    operations.decide_volunteer(town_admin, volunteer, approve=True)
    operations.assign_volunteer(town_admin, activity, volunteer, hours="4")
    db.session.commit()
    activity_id = activity.id

    barrier, results = threading.Barrier(4), []

    def run():
        with app.app_context():
            barrier.wait()
            try:
                operations.record_service(db.session.get(Activity, activity_id))
                db.session.commit()
                results.append("ok")
            except OperationalError:  # SQLite's busy writer: the transaction is undone
                db.session.rollback()
                results.append("busy")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "ok" in results
    outcomes = db.session.scalars(select(LearningOutcome).filter_by(user_id=resident.id)).all()
    assert len(outcomes) == 1
    assert outcomes[0].hours == Decimal("4.0")
    assert (
        db.session.scalar(
            select(func.count()).select_from(LedgerEntry).filter_by(outcome_id=outcomes[0].id)
        )
        == 1
    )


def test_registry_pages_for_staff_and_the_residents_own(client, resident, town_admin, create_user):
    """Every page answers; the forms refuse what they must with a 4xx and store nothing."""
    sign_in(client, town_admin)
    assert client.get("/activities/lecturers/new").status_code == 200
    outside = client.post(
        "/activities/lecturers/new",
        data={"unit": unit("嘉明镇").id, "name": "李四", "subjects": "法律"},
    )
    assert outside.status_code == 422
    made = client.post(
        "/activities/lecturers/new",
        data={"unit": unit("福集镇").id, "name": "张老师", "subjects": "智能手机", "phone": "138"},
    )
    assert made.status_code == 422
    assert "手机号格式不正确" in made.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Lecturer)) == 0
    made = client.post(
        "/activities/lecturers/new",
        data={
            "unit": unit("福集镇").id,
            "name": "张老师",
            "subjects": "智能手机",
            "talent_pool": "y",
        },
    )
    assert made.status_code == 302
    lecturer = db.session.scalars(select(Lecturer)).one()
    listed = client.get("/activities/lecturers?pool=1&q=手机").get_data(as_text=True)
    assert "张老师" in listed
    assert client.get(f"/activities/lecturers/{lecturer.id}").status_code == 200
    assert client.get(f"/activities/lecturers/{2**40}").status_code == 404
    assert client.get("/activities/volunteers/new").status_code == 200
    assert client.get("/admin/activity-reports").status_code == 200
    client.post("/sign-out")

    # A teacher keeps the town's lecturers but sees a number masked, in the form too; sent
    # back as shown, it is kept.
    lecturer.phone = "13812345678"
    db.session.commit()
    sign_in(client, create_user(Role.TEACHER, "福集镇", name="福集老师"))
    form = client.get(f"/activities/lecturers/{lecturer.id}").get_data(as_text=True)
    assert "138****5678" in form
    assert "13812345678" not in form
    saved = client.post(
        f"/activities/lecturers/{lecturer.id}",
        data={
            "unit": unit("福集镇一村").id,
            "name": "张老师",
            "subjects": "智能手机",
            "phone": "138****5678",
            "active": "y",
        },
    )
    assert saved.status_code == 302
    db.session.refresh(lecturer)
    assert (lecturer.phone, lecturer.org_unit.name) == ("13812345678", "福集镇一村")
    client.post("/sign-out")

    sign_in(client, resident)
    assert client.get("/activities/lecturers").status_code == 403
    assert "我要当志愿者" in client.get("/me/volunteer").get_data(as_text=True)
    empty = client.post("/me/volunteer", data={"skills": "", "availability": ""})
    assert empty.status_code == 422
    applied = client.post("/me/volunteer", data={"skills": "摄影", "availability": "周末"})
    assert applied.status_code == 302
    assert "正在等待管理员审核" in client.get("/me/volunteer").get_data(as_text=True)
    assert client.post("/me/volunteer/withdraw").status_code == 302
    assert db.session.scalars(select(Volunteer)).one().status is VolunteerStatus.WITHDRAWN
    again = client.post("/me/volunteer", data={"skills": "摄影", "availability": "周末"})
    assert again.status_code == 302
    assert (
        client.get(
            f"/activities/volunteers/{db.session.scalars(select(Volunteer)).one().id}"
        ).status_code
        == 404
    )

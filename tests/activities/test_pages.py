"""What residents and organisers see: activities near the resident first (home page and list),
registering and cancelling within the capacity, the public page's calendar file, creating an
activity in the organiser's scope only, and the personal code on the 代注册 sign-in slip."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from lms.accounts.models import OrgUnit, Role
from lms.activities.models import Activity, Attendance, Registration
from lms.core.time import utcnow
from lms.extensions import db
from tests.conftest import new_phone, sign_in, unit


def test_near_first_on_the_home_page_and_the_list(client, make_activity, resident, create_user):
    county = create_user(Role.ADMIN, "泸县", name="县管理员")
    town = make_activity(
        title="嘉明讲堂", unit_name="嘉明镇", start_in=timedelta(hours=2), by=county
    )
    village = make_activity(title="一村夜读会", unit_name="福集镇一村", start_in=timedelta(days=3))
    private = make_activity(title="二村专场", audience_unit=unit("福集镇二村"))
    sign_in(client, resident)  # lives in 福集镇一村
    listing = client.get("/activities").get_data(as_text=True)
    assert listing.index(village.title) < listing.index(town.title)
    assert private.title not in listing
    home = client.get("/").get_data(as_text=True)
    assert "近期活动" in home
    assert village.title in home


def test_register_cancel_and_capacity(client, make_activity, resident, create_user):
    lecture = make_activity(needs_registration=True, capacity=1, start_in=timedelta(days=1))
    sign_in(client, resident)
    path = f"/activities/{lecture.id}/registration"
    assert client.post(path).status_code == 302
    assert client.post(path).status_code == 302  # twice: the same place
    client.post("/sign-out")
    other = create_user(name="晚来的")
    sign_in(client, other)
    full = client.post(path)
    assert full.status_code == 409
    assert "名额已满" in full.get_data(as_text=True)
    client.post("/sign-out")
    sign_in(client, resident)
    assert client.post(f"{path}/cancel").status_code == 302
    active = select(func.count(Registration.id)).where(Registration.cancelled_at.is_(None))
    assert db.session.scalar(active) == 0
    assert client.get(f"/activities/{lecture.id}").status_code == 200
    assert client.post("/activities/999999/registration").status_code == 404


def test_the_calendar_file(client, make_activity):
    lecture = make_activity(place="福集镇社区学校, 三楼; 报告厅")
    response = client.get(f"/activities/{lecture.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert "LOCATION:福集镇社区学校\\, 三楼\\; 报告厅\r\n" in body
    assert f"UID:activity-{lecture.id}@" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_the_organiser_creates_within_their_scope(client, organiser):
    sign_in(client, organiser)
    form = client.get("/activities/new").get_data(as_text=True)
    assert "嘉明镇" not in form  # another town: not offered
    day = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")
    data = {
        "kind": "lecture",
        "title": "福集讲堂：春季养生",
        "place": "福集镇社区学校",
        "starts_at": f"{day}T09:00",
        "ends_at": f"{day}T11:00",
        "hours": "2",
        "audience": "0",
        "unit": unit("嘉明镇").id,
    }
    assert client.post("/activities/new", data=data).status_code == 422
    data["unit"] = unit("福集镇一村").id
    assert client.post("/activities/new", data=data).status_code == 302
    activity = db.session.scalar(select(Activity))
    assert activity.unit.name == "福集镇一村"
    assert client.get(f"/activities/{activity.id}/manage").status_code == 200


def test_residents_do_not_reach_the_organiser_pages(client, make_activity, resident):
    lecture = make_activity()
    sign_in(client, resident)
    assert client.get(f"/activities/{lecture.id}/manage").status_code == 404
    assert client.get(f"/activities/{lecture.id}/code.svg").status_code == 404
    assert client.post(f"/activities/{lecture.id}/close").status_code == 404
    assert client.get("/activities/new").status_code == 403


def test_the_sign_in_slip_carries_the_personal_code(client, organiser):
    sign_in(client, organiser)
    village = db.session.scalar(select(OrgUnit).filter_by(name="福集镇一村"))
    response = client.post(
        "/admin/people/new",
        data={"phone": new_phone(), "name": "刘奶奶", "org_unit_id": village.id},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert "签到码" in page
    assert '<svg viewBox="' in page
    assert Role.ADMIN in organiser.roles


def test_corrections_on_the_attendance_page(client, make_activity, organiser, create_user):
    lecture = make_activity()
    present, forgotten = create_user(name="在场者"), create_user(name="漏记者")
    sign_in(client, organiser)
    client.post(f"/activities/{lecture.id}/attendance", data={"user_id": present.id})
    assert client.post(f"/activities/{lecture.id}/close").status_code == 302
    attendance = db.session.scalar(select(Attendance).filter_by(user_id=present.id))
    void = f"/activities/{lecture.id}/attendance/{attendance.id}/void"
    assert client.post(void, data={"reason": ""}).status_code == 422
    assert client.post(void, data={"reason": "误勾"}).status_code == 302
    again = client.post(void, data={"reason": "再撤一次"})
    assert again.status_code == 409
    assert "撤销过了" in again.get_data(as_text=True)
    tick = f"/activities/{lecture.id}/attendance"
    assert client.post(tick, data={"user_id": forgotten.id}).status_code == 422  # no reason
    assert (
        client.post(tick, data={"user_id": forgotten.id, "reason": "签到表上有"}).status_code == 302
    )
    page = client.get(f"/activities/{lecture.id}/manage").get_data(as_text=True)
    assert "撤销原因：误勾" in page
    assert "补记原因：签到表上有" in page
    assert (
        client.post(
            f"/activities/{lecture.id}/attendance/999/void", data={"reason": "x"}
        ).status_code
        == 404
    )

"""Check-in that a friend cannot do for you: the rotating code (fresh for its step and the next,
of its own activity only), the arrival kept through signing in, replays, the personal code, ticking
by hand, the same device for several people, and every kind of bad input (a clear message, a
4xx, nothing recorded)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Role
from lms.activities import codes, operations
from lms.activities.models import Activity, Attendance, CheckInMethod
from lms.activities.views.check_in import ARRIVAL
from lms.core.time import utcnow
from lms.extensions import db
from tests.conftest import PASSWORD, api_token, sign_in


def attendances(activity=None) -> int:
    query = select(func.count(Attendance.id))
    if activity is not None:
        query = query.where(Attendance.activity_id == activity.id)
    return db.session.scalar(query)


def scan_path(activity, moment=None) -> str:
    return f"/activities/{activity.id}/scan/{codes.rotating_code(activity, moment or utcnow())}"


def test_a_rotating_code_is_fresh_for_its_step_and_the_next_only(make_activity):
    lecture, other = make_activity(), make_activity(title="读书会")
    now = utcnow()
    code = codes.rotating_code(lecture, now)
    assert codes.rotating_code_fresh(lecture, code, now)
    assert codes.rotating_code_fresh(lecture, code, now + timedelta(seconds=codes.STEP_SECONDS))
    # Older than its window: refused.
    assert not codes.rotating_code_fresh(lecture, code, now + timedelta(seconds=31))
    assert not codes.rotating_code_fresh(lecture, code, now + timedelta(minutes=1))
    # A code of another activity, a forged signature, one from the future, rubbish: refused.
    assert not codes.rotating_code_fresh(other, code, now)
    step, signature = code.split("-", 1)
    assert not codes.rotating_code_fresh(lecture, f"{step}-{'A' * 16}", now)
    later = codes.rotating_code(lecture, now + timedelta(seconds=30))
    assert not codes.rotating_code_fresh(lecture, later, now)
    for rubbish in ("", "-", "abc", f"{step}-{signature}x", f"{step}-{signature[:-1]}", "9" * 400):
        assert not codes.rotating_code_fresh(lecture, rubbish, now)


def test_scan_sign_in_and_check_in_once(client, make_activity, resident):
    lecture = make_activity()
    response = client.get(scan_path(lecture))
    assert response.status_code == 302
    assert urlparse(response.location).path == "/sign-in"
    assert "lms_device=" in response.headers["Set-Cookie"]
    sign_in(client, resident)
    page = client.get(f"/activities/{lecture.id}/check-in")
    assert page.status_code == 200
    assert "确认签到" in page.get_data(as_text=True)
    done = client.post(f"/activities/{lecture.id}/check-in")
    assert done.status_code == 200
    assert "签到成功" in done.get_data(as_text=True)
    attendance = db.session.scalar(select(Attendance).filter_by(user_id=resident.id))
    assert attendance.method is CheckInMethod.SCAN
    assert attendance.device_id
    # Replaying the POST (the arrival is used up) or scanning again creates nothing.
    assert client.post(f"/activities/{lecture.id}/check-in").status_code == 403
    client.get(scan_path(lecture))
    again = client.post(f"/activities/{lecture.id}/check-in")
    assert "您已经签到过了" in again.get_data(as_text=True)
    assert attendances() == 1


def test_a_code_forwarded_a_minute_later_checks_nobody_in(client, make_activity, resident):
    lecture = make_activity()
    sign_in(client, resident)
    forwarded = scan_path(lecture, utcnow() - timedelta(minutes=1))
    response = client.get(forwarded)
    assert response.status_code == 403
    assert "已过期" in response.get_data(as_text=True)
    assert client.post(f"/activities/{lecture.id}/check-in").status_code == 403
    assert client.get(f"/activities/{other_id(lecture)}/scan/x").status_code == 404
    assert attendances() == 0


def other_id(activity) -> int:
    return activity.id + 1000


def test_the_arrival_lasts_a_few_minutes_and_only_for_its_activity(client, make_activity, resident):
    lecture, other = make_activity(), make_activity(title="读书会")
    sign_in(client, resident)
    client.get(scan_path(lecture))
    # The arrival at one activity does not check in at another.
    assert client.post(f"/activities/{other.id}/check-in").status_code == 403
    with client.session_transaction() as session:
        session[ARRIVAL] = {"activity": lecture.id, "at": utcnow().timestamp() - 6 * 60}
    response = client.post(f"/activities/{lecture.id}/check-in")
    assert response.status_code == 403
    assert "扫描" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        session[ARRIVAL] = {"activity": lecture.id, "at": "rubbish"}
    assert client.post(f"/activities/{lecture.id}/check-in").status_code == 403
    assert attendances() == 0


def test_the_same_device_for_several_people_is_flagged(
    app, client, make_activity, organiser, create_user
):
    lecture = make_activity()
    first, second = create_user(name="张三"), create_user(name="李四")
    for person in (first, second):
        sign_in(client, person)  # one phone, the same device cookie, two people
        client.get(scan_path(lecture))
        assert client.post(f"/activities/{lecture.id}/check-in").status_code == 200
        client.post("/sign-out")
    assert list(operations.shared_devices(lecture).values()) == [2]
    sign_in(client, organiser)
    page = client.get(f"/activities/{lecture.id}/manage").get_data(as_text=True)
    assert "同一手机签到 2 人" in page


def test_personal_code_scanned_by_the_organiser(client, make_activity, organiser, resident):
    lecture = make_activity()
    url = urlparse(f"http://x/p/{codes.personal_code(resident.id)}").path
    sign_in(client, resident)
    mine = client.get("/me/check-in-code")
    assert mine.status_code == 200
    assert "<svg" in mine.get_data(as_text=True)
    assert client.get(url).status_code == 302  # the resident's own code: back to 我的签到码
    client.post("/sign-out")
    sign_in(client, organiser)
    page = client.get(url).get_data(as_text=True)
    assert resident.name in page
    assert lecture.title in page
    done = client.post(url, data={"activity_id": lecture.id})
    assert done.status_code == 200
    assert "签到成功" in done.get_data(as_text=True)
    attendance = db.session.scalar(select(Attendance).filter_by(user_id=resident.id))
    assert attendance.method is CheckInMethod.PERSONAL
    assert attendance.recorded_by_id == organiser.id
    assert "已经签到过了" in client.post(url, data={"activity_id": lecture.id}).get_data(
        as_text=True
    )
    # Forged, malformed, or at an activity the organiser does not run: nothing.
    forged = url[:-3] + "AAA"
    assert client.get(forged).status_code == 400
    assert client.post(forged, data={"activity_id": lecture.id}).status_code == 400
    assert client.post(url, data={"activity_id": "abc"}).status_code == 404
    assert attendances() == 1


def test_only_organisers_use_a_personal_code(client, make_activity, resident, create_user):
    make_activity()
    neighbour = create_user(name="邻居")
    sign_in(client, neighbour)
    response = client.get(f"/p/{codes.personal_code(resident.id)}")
    assert response.status_code == 403
    assert "组织者" in response.get_data(as_text=True)


def test_ticked_by_hand_is_marked(client, make_activity, organiser, create_user):
    lecture = make_activity()
    grandma = create_user(name="刘奶奶")
    sign_in(client, organiser)
    found = client.get(f"/activities/{lecture.id}/manage?q=刘奶奶").get_data(as_text=True)
    assert "勾选签到" in found
    assert client.post(f"/activities/{lecture.id}/attendance", data={"user_id": grandma.id})
    attendance = db.session.scalar(select(Attendance).filter_by(user_id=grandma.id))
    assert attendance.method is CheckInMethod.HAND
    assert "人工勾选" in client.get(f"/activities/{lecture.id}/manage").get_data(as_text=True)
    assert client.get(f"/activities/{lecture.id}/manage?q=%00%E5%88%98").status_code == 200
    assert (
        client.post(f"/activities/{lecture.id}/attendance", data={"user_id": 0}).status_code == 404
    )


def test_check_out_after_the_minimum_stay(make_activity, resident):
    lecture = make_activity(needs_check_out=True, min_stay_minutes=60)
    attendance, _new = operations.check_in(lecture, resident, method=CheckInMethod.SCAN)
    db.session.commit()
    with pytest.raises(operations.Conflict, match="参加满 60 分钟"):
        operations.check_out(lecture, attendance)
    db.session.rollback()
    assert not operations.counts(lecture, attendance)
    later = attendance.checked_in_at + timedelta(minutes=61)
    assert operations.check_out(lecture, attendance, now=later)
    assert not operations.check_out(lecture, attendance, now=later)
    assert operations.counts(lecture, attendance)


@pytest.mark.parametrize(
    ("setup", "status", "message"),
    [
        ("early", 409, "签到还没开始"),
        ("late", 409, "签到已经结束"),
        ("closed", 409, "已经结束"),
        ("audience", 403, "只面向"),
        ("full", 409, "名额已满"),
    ],
)
def test_check_in_refusals(client, make_activity, organiser, create_user, setup, status, message):
    values = {}
    if setup == "early":
        values["start_in"] = timedelta(hours=3)
    if setup == "audience":
        values["audience_unit"] = db.session.scalar(
            select(type(organiser.org_unit)).filter_by(name="福集镇二村")
        )
    if setup == "full":
        values["capacity"] = 1
    lecture = make_activity(**values)
    if setup == "late":
        lecture.starts_at -= timedelta(hours=5)
        lecture.ends_at -= timedelta(hours=5)
        db.session.commit()
    if setup == "closed":
        operations.close_activity(lecture)
        db.session.commit()
    if setup == "full":
        operations.check_in(lecture, create_user(name="先到"), method=CheckInMethod.SCAN)
        db.session.commit()
    before = attendances()
    resident = create_user(name="后到")
    sign_in(client, resident)
    scanned = client.get(scan_path(lecture))
    if scanned.status_code == 302:
        response = client.post(f"/activities/{lecture.id}/check-in")
    else:
        response = scanned
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in response.get_data(as_text=True)
    # The API refuses the same way.
    token = api_token(client, resident)
    api = client.post(
        f"/api/v1/activities/{lecture.id}/check-in",
        json={"code": codes.rotating_code(lecture, utcnow())},
        headers=token,
    )
    assert api.status_code == status
    assert message in api.get_json()["error"]["message"]
    assert attendances() == before


def test_api_check_in_both_ways_and_the_attendance_list(client, make_activity, organiser, resident):
    lecture = make_activity()
    mine, theirs = api_token(client, resident), api_token(client, organiser)
    path = f"/api/v1/activities/{lecture.id}/check-in"
    first = client.post(path, json={"code": codes.rotating_code(lecture, utcnow())}, headers=mine)
    assert first.status_code == 201
    assert first.get_json()["created"] is True
    replay = client.post(path, json={"code": codes.rotating_code(lecture, utcnow())}, headers=mine)
    assert replay.status_code == 200
    assert replay.get_json()["created"] is False
    stale = codes.rotating_code(lecture, utcnow() - timedelta(minutes=1))
    assert client.post(path, json={"code": stale}, headers=mine).status_code == 403
    assert client.post(path, json={}, headers=mine).status_code == 422
    neighbour_code = codes.personal_code(organiser.id)
    assert (
        client.post(path, json={"resident_code": neighbour_code}, headers=mine).status_code == 403
    )
    listing = client.get(f"/api/v1/activities/{lecture.id}/attendance", headers=theirs).get_json()
    assert [item["method"] for item in listing["items"]] == ["scan"]
    assert (
        client.get(f"/api/v1/activities/{lecture.id}/attendance", headers=mine).status_code == 404
    )
    forged = client.post(path, json={"resident_code": "1-AAAAAAAAAAAAAAAA"}, headers=theirs)
    assert forged.status_code == 422
    assert attendances() == 1


def test_bad_activities_are_refused(client, organiser, county):
    token = api_token(client, organiser)
    town = db.session.scalar(select(type(county)).filter_by(name="福集镇"))
    elsewhere = db.session.scalar(select(type(county)).filter_by(name="嘉明镇"))
    start = utcnow() + timedelta(days=2)
    good = {
        "unit_id": town.id,
        "kind": "lecture",
        "title": "福集讲堂",
        "place": "社区学校",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "hours": "2",
    }
    bad = [
        ({"ends_at": (start - timedelta(hours=1)).isoformat()}, 422, "结束时间必须晚于开始时间"),
        ({"hours": "-1"}, 422, "学时必须大于 0"),
        ({"hours": "0.25"}, 422, "一位小数"),
        ({"hours": "1e30"}, 422, "学时不能超过"),  # not a 500 from quantizing it
        ({"capacity": -5}, 422, "人数上限"),
        ({"capacity": 0}, 422, "人数上限"),
        ({"unit_id": elsewhere.id}, 403, "不能为该单位组织活动"),
        ({"audience_unit_id": elsewhere.id}, 403, "参加范围"),
        ({"min_stay_minutes": 500, "needs_check_out": True}, 422, "最短停留"),
        ({"kind": "party"}, 422, "取值无效"),
        ({"starts_at": "2026-12-01T08:00:00"}, 422, ""),
        ({"title": "  "}, 422, "请填写标题"),
        ({"unit_id": 2**40}, 422, ""),
    ]
    for change, status, message in bad:
        response = client.post("/api/v1/activities", json={**good, **change}, headers=token)
        assert response.status_code == status, (change, response.get_json())
        assert message in str(response.get_json()), change
    assert db.session.scalar(select(func.count(Activity.id))) == 0
    assert client.post("/api/v1/activities", json=good, headers=token).status_code == 201
    # A resident cannot organise at all.
    resident_token = api_token(client, _resident(county))
    assert client.post("/api/v1/activities", json=good, headers=resident_token).status_code == 403


def _resident(county):
    from lms.accounts import operations as accounts
    from tests.conftest import new_phone, unit

    user = accounts.create_user(
        phone=new_phone(),
        name="居民",
        password=PASSWORD,
        org_unit=unit("福集镇一村"),
        roles=(Role.RESIDENT,),
    )
    db.session.commit()
    return user


def test_the_web_form_refuses_an_end_before_the_start(client, organiser, county):
    sign_in(client, organiser)
    town = db.session.scalar(select(type(county)).filter_by(name="福集镇"))
    response = client.post(
        "/activities/new",
        data={
            "kind": "lecture",
            "title": "福集讲堂",
            "unit": town.id,
            "place": "社区学校",
            "starts_at": "2030-01-02T10:00",
            "ends_at": "2030-01-02T09:00",
            "hours": "-2",
            "capacity": "-1",
            "audience": "0",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "人数上限须在 1 到 100000 之间" in page
    assert db.session.scalar(select(func.count(Activity.id))) == 0

"""Organisers' reports against a known fixture: activities and attendance by month and by unit,
lecturer and volunteer hours, 送课进社区, each activity's attendance as .xlsx (opened with
openpyxl), every report scoped to the viewer's units, and attending counted as taking part."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.accounts.models import Role
from lms.activities import operations as activities
from lms.activities.models import Activity, ActivityKind, ActivityStatus, Attendance, CheckInMethod
from lms.activities.registry import operations
from lms.admin import rollups
from lms.admin.rollups import ALL, BAND_60_PLUS, ParticipationStat
from lms.extensions import db
from tests.conftest import api_token, sign_in, unit

YEAR = 2025
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=SHANGHAI)


def activity(unit_name, month, day, hours, *, kind=ActivityKind.LECTURE, title, **values):
    row = Activity(
        unit_id=unit(unit_name).id,
        kind=kind,
        title=title,
        place="文化站",
        starts_at=at(month, day),
        ends_at=at(month, day, 11),
        hours=Decimal(hours),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def attend(row: Activity, *people, voided=False):
    for person in people:
        db.session.add(
            Attendance(
                activity_id=row.id,
                user_id=person.id,
                method=CheckInMethod.SCAN,
                checked_in_at=row.starts_at,
                voided_at=row.ends_at if voided else None,
                void_reason="代签" if voided else "",
            )
        )
    db.session.flush()


@pytest.fixture
def fixture(county, create_user):
    """福集镇一村 holds a 讲堂 in March (two came, a third voided), 福集镇 itself a 送课进社区 in
    March (two came, one of them also at the 讲堂) with a lecturer and a volunteer, 嘉明镇 a
    training in April, and 福集镇二村 a cancelled one in May."""
    town_admin = create_user(Role.ADMIN, "福集镇", name="福集管理员")
    people = [create_user(name=f"居民{n}") for n in range(1, 6)]
    for person in people:
        person.birth_year = 1950  # 60 and over: their own age band in the rollups
    r1, r2, r3, r4, r5 = people
    lecture = activity("福集镇一村", 3, 10, "2", title="健康讲堂")
    attend(lecture, r1, r2)
    attend(lecture, r3, voided=True)
    delivery = activity("福集镇", 3, 20, "1.5", kind=ActivityKind.COMMUNITY, title="送课：防诈骗")
    attend(delivery, r1, r4)
    training = activity("嘉明镇", 4, 1, "3", kind=ActivityKind.TRAINING, title="电商培训")
    attend(training, r5)
    activity("福集镇二村", 5, 5, "2", title="取消的活动", status=ActivityStatus.CANCELLED)

    lecturer = operations.add_lecturer(
        town_admin, unit=unit("福集镇"), name="张老师", subjects="防诈骗"
    )
    volunteer = operations.add_volunteer(
        town_admin, unit=unit("福集镇一村"), name="赵大爷", phone="13900002222", skills="引导"
    )
    operations.assign_lecturer(town_admin, delivery, lecturer, topic="识别电信诈骗")
    operations.assign_volunteer(town_admin, delivery, volunteer, duty="签到")
    db.session.commit()
    activities.close_activity(delivery)
    db.session.commit()
    return {"admin": town_admin, "lecture": lecture, "people": people}


def tables(client, headers, **query) -> dict:
    answer = client.get("/api/v1/admin/activity-reports", headers=headers, query_string=query)
    assert answer.status_code == 200, answer.get_json()
    return {table["key"]: table["rows"] for table in answer.get_json()["tables"]}


def test_figures_by_month_unit_service_and_deliveries(client, fixture, create_user):
    town = tables(client, api_token(client, fixture["admin"]), year=YEAR)
    assert town["months"][2] == [f"{YEAR}年3月", 2, 4, 3, 7.0]  # r1 counted once
    assert town["months"][3] == [f"{YEAR}年4月", 0, 0, 0, 0.0]  # 嘉明镇's is not ours
    assert town["months"][4][1] == 0  # the cancelled activity is no activity
    assert town["months"][-1] == ["全年", 2, 4, 3, 7.0]
    assert town["units"] == [
        ["福集镇（本级）", 1, 2, 2, 3.0],
        ["福集镇一村", 1, 2, 2, 4.0],
        ["福集镇二村", 0, 0, 0, 0.0],
    ]
    assert town["service"] == [
        ["讲师", "张老师", "泸县 / 福集镇", 1, 1.5],
        ["志愿者", "赵大爷", "泸县 / 福集镇 / 福集镇一村", 1, 1.5],
    ]
    assert town["deliveries"] == [
        [
            f"{YEAR}-03-20",
            "送课：防诈骗",
            "张老师",
            "泸县 / 福集镇",
            "泸县 / 福集镇",
            "文化站",
            "识别电信诈骗",
            2,
            1.5,
        ]
    ]

    county_admin = create_user(Role.ADMIN, "泸县", name="县管理员")
    county = tables(client, api_token(client, county_admin), year=YEAR)
    assert county["units"][1:] == [["福集镇", 2, 4, 3, 7.0], ["嘉明镇", 1, 1, 1, 3.0]]
    assert county["months"][-1] == ["全年", 3, 5, 4, 10.0]

    # Scope: another town's staff cannot ask for ours; residents are refused.
    jiaming = api_token(client, create_user(Role.ADMIN, "嘉明镇", name="嘉明管理员"))
    outside = client.get(
        "/api/v1/admin/activity-reports",
        headers=jiaming,
        query_string={"unit_id": unit("福集镇").id},
    )
    assert outside.status_code == 404
    resident = api_token(client, fixture["people"][0])
    assert client.get("/api/v1/admin/activity-reports", headers=resident).status_code == 403


def test_attendance_list_downloads_as_xlsx_for_the_organiser_only(client, fixture, create_user):
    lecture = fixture["lecture"]
    sign_in(client, fixture["admin"])
    answer = client.get(f"/admin/activities/{lecture.id}/attendance.xlsx")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("序号", "姓名", "手机号", "所在单位", "签到方式")
    assert [row[1] for row in rows[1:]] == ["居民1", "居民2", "居民3"]
    assert rows[1][2] == fixture["people"][0].phone  # the town's administrator sees it whole
    assert rows[1][7] == 2
    assert rows[3][7] == 0
    assert rows[3][8] == "已作废：代签"
    report = client.get(f"/admin/activity-reports/months.xlsx?year={YEAR}")
    assert load_workbook(io.BytesIO(report.data)).active["E4"].value == 7
    assert client.get(f"/admin/activity-reports?year={YEAR}").status_code == 200
    assert client.get(f"/admin/activity-reports/nothing.xlsx?year={YEAR}").status_code == 404

    client.post("/sign-out")
    sign_in(client, create_user(Role.ADMIN, "嘉明镇", name="嘉明管理员"))
    assert client.get(f"/admin/activities/{lecture.id}/attendance.xlsx").status_code == 404


def test_attending_counts_as_taking_part(fixture):
    rollups.rebuild()
    db.session.commit()
    stat = db.session.scalar(
        select(ParticipationStat).filter_by(
            unit_id=unit("福集镇").id, period=YEAR * 100 + 3, category_id=ALL, age_band=BAND_60_PLUS
        )
    )
    # r1, r2 (the 讲堂), r4 (送课); r3's check-in was voided; nobody learnt anything else.
    assert stat.residents == 3
    year = db.session.scalar(
        select(ParticipationStat).filter_by(
            unit_id=unit("泸县").id, period=YEAR, category_id=ALL, age_band=BAND_60_PLUS
        )
    )
    assert year.residents == 4

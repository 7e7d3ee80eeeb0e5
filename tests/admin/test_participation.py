"""Participation against the targets: distinct residents per month and year from the rollups,
scope and drill-down, targets per year, age bands, downloads, and the incremental refresh
agreeing with a rebuild."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from lms.accounts import operations as accounts
from lms.accounts.models import Level, Role, User
from lms.admin import participation as figures
from lms.admin import rollups
from lms.admin.rollups import ParticipationStat
from lms.core.time import display_zone, local_date, utcnow
from lms.extensions import db
from lms.learning import operations as learning
from tests.conftest import PASSWORD, api_token, new_phone, sign_in, unit
from tests.credits.conftest import certify_hours


def person(unit_name: str, *, birth_year: int | None = 1980, role: Role | None = None) -> User:
    roles = (Role.RESIDENT,) if role is None else (Role.RESIDENT, role)
    user = accounts.create_user(
        phone=new_phone(),
        name="居民",
        password=PASSWORD,
        org_unit=unit(unit_name),
        roles=roles,
        birth_year=birth_year,
    )
    db.session.commit()
    return user


def learn(user: User, lesson, at: datetime) -> None:
    """*user* reads *lesson* and marks it learnt at *at* (a learning record on that day)."""
    learning.enrol(user, lesson.course)
    learning.open_lesson(user, lesson, now=at - timedelta(hours=1))
    learning.mark_learnt(user, lesson, now=at)
    db.session.commit()


def local_noon(months_ago: int, day: int) -> datetime:
    """Noon (display zone) on *day* of the month *months_ago* months before this one."""
    today = local_date(utcnow())
    year, month = today.year, today.month - months_ago
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, day, 12, tzinfo=display_zone()).astimezone(UTC)


def ym(moment: datetime) -> int:
    local = moment.astimezone(display_zone())
    return local.year * 100 + local.month


def stat(unit_name: str, period: int, category_id: int = rollups.ALL) -> int:
    rows = db.session.scalars(
        select(ParticipationStat.residents).where(
            ParticipationStat.unit_id == unit(unit_name).id,
            ParticipationStat.period == period,
            ParticipationStat.category_id == category_id,
        )
    )
    return sum(rows)


def snapshot() -> list[tuple]:
    return sorted(
        db.session.execute(
            select(
                ParticipationStat.unit_id,
                ParticipationStat.period,
                ParticipationStat.category_id,
                ParticipationStat.age_band,
                ParticipationStat.residents,
                ParticipationStat.records,
                ParticipationStat.hours,
                ParticipationStat.credits,
            )
        ).all()
    )


@pytest.fixture
def course(create_course):
    return create_course("家庭教育", category="健康养生", lessons=3)


def test_a_resident_counts_once_per_month_and_year_however_often_they_learn(county, course):
    first, second = local_noon(3, 5), local_noon(2, 7)
    a = person("福集镇一村")
    b = person("福集镇二村")
    learn(a, course.lessons[0], first)
    learn(a, course.lessons[1], first + timedelta(days=1))  # same month, another day
    learn(b, course.lessons[0], first)
    learn(b, course.lessons[1], second)  # another month
    rollups.rebuild()
    db.session.commit()

    assert stat("福集镇一村", ym(first)) == 1
    assert stat("福集镇", ym(first)) == 2
    assert stat("泸县", ym(first)) == 2
    assert stat("泸县", ym(second)) == 1
    years = {first.astimezone(display_zone()).year, second.astimezone(display_zone()).year}
    assert sum(stat("泸县", year) for year in years) == 2 * len(years) - (len(years) == 2)
    category = course.category_id
    assert stat("泸县", ym(first), category) == 2

    report = figures.report(unit("泸县"), first.astimezone(display_zone()).year)
    assert report.total.took_part == 2
    assert report.total.rate == round(100 * 2 / 1000, 1)  # population 1000
    months = {row.key: row for row in report.months}
    assert months[ym(first)].took_part == 2
    assert months[ym(first)].records == 3  # three lessons learnt that month
    towns = {row.label: row for row in report.children}
    assert towns["福集镇"].took_part == 2
    assert towns["嘉明镇"].took_part == 0


def test_refresh_after_new_records_equals_a_rebuild(county, course, registrar):
    certify_hours(course, registrar)
    a, b, c = person("福集镇一村"), person("嘉明镇一村", birth_year=1950), person("嘉明镇二村")
    learn(a, course.lessons[0], local_noon(5, 3))
    learn(b, course.lessons[0], local_noon(1, 9))
    rollups.rebuild()
    db.session.commit()
    # New learning now: a finishes the course (credits posted), b and c learn today.
    now = utcnow()
    for lesson in course.lessons[1:]:
        learn(a, lesson, now - timedelta(minutes=5))
    learn(b, course.lessons[1], now - timedelta(minutes=5))
    learn(c, course.lessons[0], now - timedelta(minutes=5))
    rollups.refresh_recent()
    db.session.commit()
    incremental = snapshot()
    rollups.rebuild()
    db.session.commit()
    assert snapshot() == incremental
    this_month = ym(now)
    assert stat("泸县", this_month) == 3
    assert stat("嘉明镇", this_month) == 2
    report = figures.report(unit("泸县"), local_date(now).year)
    assert report.total.credits > 0  # the completed course was converted and posted
    assert report.total.hours == course.certified_hours
    bands = {row.key: row for row in report.bands}
    assert bands[rollups.BAND_60_PLUS].took_part == 1
    assert bands[rollups.BAND_60_PLUS].registered == 1


def test_pages_are_scoped_and_drill_down(county, course, client):
    town_admin = person("福集镇", role=Role.ADMIN)
    county_admin = person("泸县", role=Role.ADMIN)
    resident = person("福集镇一村")
    learn(resident, course.lessons[0], local_noon(0, 1))
    rollups.rebuild()
    db.session.commit()

    sign_in(client, county_admin)
    page = client.get("/admin/participation").get_data(as_text=True)
    assert "泸县" in page
    assert "<svg" in page
    town_id = unit("福集镇").id
    assert f"/admin/participation?unit={town_id}" in page.replace("&amp;", "&")
    town_page = client.get(f"/admin/participation?unit={town_id}").get_data(as_text=True)
    assert "福集镇一村" in town_page
    assert "福集镇二村" in town_page
    client.post("/sign-out")

    client2 = client.application.test_client()
    sign_in(client2, town_admin)
    assert client2.get("/admin/participation").status_code == 200
    assert "福集镇一村" in client2.get("/admin/participation").get_data(as_text=True)
    assert client2.get(f"/admin/participation?unit={unit('嘉明镇').id}").status_code == 404
    assert client2.get(f"/admin/participation?unit={unit('泸县').id}").status_code == 404
    headers = api_token(client2, town_admin)
    answer = client2.get("/api/v1/admin/participation", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["unit"]["name"] == "福集镇"
    assert [c["name"] for c in body["children"]] == ["福集镇一村", "福集镇二村"]
    assert body["unit"]["took_part"] == 1
    assert len(body["months"]) == 24
    assert (
        client2.get(
            f"/api/v1/admin/participation?unit_id={unit('嘉明镇').id}", headers=headers
        ).status_code
        == 404
    )

    client3 = client.application.test_client()
    sign_in(client3, resident)
    assert client3.get("/admin/participation").status_code == 403
    assert (
        client3.get("/api/v1/admin/participation", headers=api_token(client3, resident)).status_code
        == 403
    )


def test_the_county_sets_a_target_per_year(county, client):
    year = local_date(utcnow()).year
    assert figures.target_for(2025) == 60
    assert figures.target_for(2026) == 80
    assert figures.target_for(2030) == 85
    county_admin = person("泸县", role=Role.ADMIN)
    town_admin = person("福集镇", role=Role.ADMIN)

    sign_in(client, town_admin)
    assert (
        client.post("/admin/participation/targets", data={"year": year, "percent": 70}).status_code
        == 403
    )
    town_headers = api_token(client, town_admin)
    refused = client.put(
        f"/api/v1/admin/participation/targets/{year}", json={"percent": 70}, headers=town_headers
    )
    assert refused.status_code == 403

    other = client.application.test_client()
    sign_in(other, county_admin)
    bad = other.post("/admin/participation/targets", data={"year": year, "percent": 170})
    assert bad.status_code == 422
    assert "目标应在 1% 到 100% 之间" in bad.get_data(as_text=True)
    done = other.post("/admin/participation/targets", data={"year": year, "percent": 75})
    assert done.status_code == 302
    assert figures.target_for(year) == 75
    assert figures.target_for(year + 1) == figures.default_target(year + 1)
    headers = api_token(other, county_admin)
    answer = other.put(
        f"/api/v1/admin/participation/targets/{year + 1}", json={"percent": 90}, headers=headers
    )
    assert answer.status_code == 200, answer.get_json()
    assert figures.target_for(year + 1) == 90
    wrong = other.put(
        "/api/v1/admin/participation/targets/1999", json={"percent": 90}, headers=headers
    )
    assert wrong.status_code == 422
    listed = other.get("/api/v1/admin/participation/targets", headers=headers).get_json()["items"]
    assert {"year": year, "percent": 75, "set_by_county": True} in listed
    page = other.get("/admin/participation").get_data(as_text=True)
    assert "年度目标 75%" in page


def test_every_table_downloads_with_formulas_neutralised(county, course, client):
    accounts.create_org_unit(
        name='=HYPERLINK("http://x")',
        code="510521001009",
        level=Level.VILLAGE,
        parent=unit("福集镇"),
        population=50,
    )
    county_admin = person("泸县", role=Role.ADMIN)
    learn(person("福集镇一村"), course.lessons[0], local_noon(0, 1))
    rollups.rebuild()
    db.session.commit()
    sign_in(client, county_admin)
    town = unit("福集镇").id
    for name in ("units", "months", "categories", "bands"):
        for fmt in ("csv", "xlsx"):
            response = client.get(f"/admin/participation/{name}.{fmt}?unit={town}")
            assert response.status_code == 200, (name, fmt)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/admin/participation/units.csv?unit={town}")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert rows[0][0] == "单位"
    assert rows[1][:2] == ["福集镇", "400"]
    assert any(row[0] == '\'=HYPERLINK("http://x")' for row in rows)
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/admin/participation/units.xlsx?unit={town}").data)
    )
    cells = [cell for row in book.active.iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    assert client.get(f"/admin/participation/units.pdf?unit={town}").status_code == 404
    assert client.get(f"/admin/participation/secrets.csv?unit={town}").status_code == 404


def test_the_worker_job_and_the_rebuild_command(app, county, course):
    from lms.admin import tasks

    learn(person("福集镇一村"), course.lessons[0], local_noon(1, 2))
    tasks._run(rebuild=False)  # what the periodic job runs (never built: builds everything)
    db.session.expire_all()
    assert stat("泸县", ym(local_noon(1, 2))) == 1
    learn(person("福集镇二村"), course.lessons[0], utcnow() - timedelta(minutes=1))
    tasks._run(rebuild=False)  # from the day before the last refresh
    db.session.expire_all()
    assert stat("泸县", ym(utcnow())) == 1
    result = app.test_cli_runner().invoke(args=["admin", "rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert stat("泸县", ym(local_noon(1, 2))) == 1
    refreshed = app.test_cli_runner().invoke(args=["admin", "rollups", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert stat("泸县", ym(local_noon(1, 2))) == 1

    from lms.core.jobs import huey

    with huey.lock_task("participation-rollups"):  # the worker is refreshing
        for command in ("rebuild", "refresh"):
            locked = app.test_cli_runner().invoke(args=["admin", "rollups", command])
            assert locked.exit_code == 1
            assert "being refreshed right now" in locked.output
    assert app.test_cli_runner().invoke(args=["admin", "rollups", "refresh"]).exit_code == 0


@pytest.fixture
def csrf_on(app):
    """The standard app (its database emptied after the test, on PostgreSQL too) with the form
    CSRF check on, as in production (Flask-WTF reads the setting at each request)."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_a_token_sets_a_target_without_a_csrf_token(csrf_on, tmp_path):
    """The API's writes are authenticated by the bearer token (CSRF tokens are for cookies)."""
    county = accounts.create_org_unit(
        name="泸县", code="510521", level=Level.COUNTY, parent=None, population=10
    )
    admin = accounts.create_user(
        phone=new_phone(),
        name="县管",
        password=PASSWORD,
        org_unit=county,
        roles=(Role.RESIDENT, Role.ADMIN),
    )
    db.session.commit()
    client = csrf_on.test_client()
    headers = api_token(client, admin)
    year = local_date(utcnow()).year
    answer = client.put(
        f"/api/v1/admin/participation/targets/{year}", json={"percent": 70}, headers=headers
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)

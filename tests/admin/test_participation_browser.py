"""The participation dashboard in headless Chromium on a 360 px phone: charts drawn, nothing
wider than the screen, no CSP violation, drill-down by tapping a town."""

from __future__ import annotations

from playwright.sync_api import expect

from lms.accounts.models import Role
from lms.admin import rollups
from lms.extensions import db
from tests.admin.test_participation import learn, local_noon, person
from tests.browser.conftest import ARTIFACTS, browser_page, sign_in  # noqa: F401  (fixture)


def test_county_admin_reads_the_dashboard_on_a_phone_and_drills_down(
    live_server,
    browser_page,  # noqa: F811  (the fixture imported above)
    county,
    create_course,
):
    course = create_course("老年人智能手机入门", category="健康养生", lessons=2)
    for months_ago, village in [(0, "福集镇一村"), (1, "福集镇二村"), (2, "嘉明镇一村")]:
        learn(person(village, birth_year=1950), course.lessons[0], local_noon(months_ago, 3))
    admin = person("泸县", role=Role.ADMIN)
    rollups.rebuild()
    db.session.commit()

    page = browser_page
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    sign_in(page, live_server, admin)
    page.goto(f"{live_server}/admin/participation")
    expect(page.get_by_role("heading", level=1)).to_contain_text("泸县")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(3)
    assert charts.first.bounding_box()["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(ARTIFACTS / "participation-county-360.png"), full_page=True)

    page.get_by_role("link", name="福集镇").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("福集镇")
    expect(page.locator("#units-table")).to_contain_text("福集镇一村")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(ARTIFACTS / "participation-town-360.png"), full_page=True)
    assert problems == []

"""长辈模式 in a real browser on a 360 px phone: one tap switches it on without losing what was
typed into a half-filled form, the type and tap targets grow, the choice survives a reload and
reaches the account; signed in, the header leaves the page's content high on the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lms.extensions import db
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.once]


def header_height(page) -> float:
    return page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height")


def test_elderly_mode_keeps_typed_text_and_the_header_stays_low(
    browser_page, live_server, resident, create_course
):
    page = browser_page
    course = create_course(lessons=2)
    sign_in(page, live_server, resident)

    page.goto(f"{live_server}/courses/{course.id}")
    assert header_height(page) <= 120
    page.screenshot(path=str(ARTIFACTS / "elderly-header-normal-360.png"))

    page.goto(f"{live_server}/search")
    assert page.locator("input[type=search]:visible").count() == 1  # one search box
    page.get_by_role("searchbox").fill("智能手机")

    with page.expect_response(lambda r: r.url.endswith("/preferences/elderly")) as answer:
        page.get_by_role("button", name="长辈模式").click()
    assert answer.value.ok
    expect(page.locator("html")).to_have_class("elderly text-22")
    expect(page.get_by_role("searchbox")).to_have_value("智能手机")  # nothing was submitted
    assert page.url.endswith("/search")
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 20
    for name in ("退出长辈模式", "字大一点", "搜索"):
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box["width"] >= 60
        assert box["height"] >= 60

    page.get_by_role("button", name="字大一点").click()
    expect(page.locator("html")).to_have_class("elderly text-24")
    expect(page.get_by_role("searchbox")).to_have_value("智能手机")
    page.screenshot(path=str(ARTIFACTS / "elderly-search-360.png"))

    page.reload()
    expect(page.locator("html")).to_have_class("elderly text-24")  # the cookie remembers
    db.session.refresh(resident)
    assert resident.elderly_text_px == 24  # and so does the account

    page.get_by_role("button", name="退出长辈模式").click()
    expect(page.locator("html")).not_to_have_class("elderly text-24")
    page.reload()
    expect(page.get_by_role("button", name="长辈模式")).to_be_visible()

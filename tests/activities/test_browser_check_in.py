"""The three ways to check in, in Chromium at phone size (360 px): the organiser projects the
rotating code, which is decoded from the screenshot by a real QR decoder (zxing-cpp) and opened
by a resident's phone that is not signed in yet; the organiser's phone opens a resident's
我的签到码 (decoded the same way); an elderly resident without a phone is ticked by hand."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from lms.activities.models import Attendance, CheckInMethod
from lms.extensions import db
from tests.browser.conftest import (
    ARTIFACTS,
    browser_page,  # noqa: F401  (the fixture, shared)
    sign_in,
)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.once]


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot."""
    (found,) = [
        result
        for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]
    return found.text


def test_the_three_ways_to_check_in_at_360px(
    live_server,
    browser_page,  # noqa: F811  (the fixture imported above)
    make_activity,
    organiser,
    create_user,
):
    lecture = make_activity()
    phone_user = create_user(name="扫码居民")
    card_user = create_user(name="亮码居民")
    grandma = create_user(name="刘奶奶")
    page = browser_page  # the organiser's phone

    # (a) The rotating code, projected; a resident's phone scans it.
    sign_in(page, live_server, organiser)
    page.goto(f"{live_server}/activities/{lecture.id}/code")
    code = page.locator("#check-in-code")
    expect(code).to_be_visible()
    page.wait_for_function("document.getElementById('check-in-code').naturalWidth > 0")
    page.screenshot(path=str(ARTIFACTS / "activities-code-360.png"))
    scanned = decode_qr(code.screenshot())
    assert urlparse(scanned).path.startswith(f"/activities/{lecture.id}/scan/")

    phone = page.context.browser.new_context(
        viewport={"width": 360, "height": 800}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    resident_page = phone.new_page()
    resident_page.goto(scanned)  # as the camera app would open it
    resident_page.get_by_label("手机号").fill(phone_user.phone)
    resident_page.get_by_label("密码").fill(PASSWORD)
    resident_page.get_by_role("button", name="登录").click()
    resident_page.get_by_role("button", name="确认签到").click()
    expect(resident_page.get_by_text("签到成功")).to_be_visible()

    # (b) 我的签到码 on another resident's phone; the organiser's phone opens it.
    resident_page.context.clear_cookies()
    sign_in(resident_page, live_server, card_user)
    resident_page.goto(f"{live_server}/me/check-in-code")
    personal = decode_qr(resident_page.locator(".qr-box").screenshot())
    assert urlparse(personal).path.startswith("/p/")
    phone.close()
    page.goto(personal)
    page.get_by_role("button", name=f"签到到：{lecture.title}").click()
    expect(page.get_by_text("亮码居民 签到成功")).to_be_visible()

    # (c) Ticked by hand on the attendance list.
    page.goto(f"{live_server}/activities/{lecture.id}/manage")
    page.get_by_label("按姓名或手机号（后四位即可）查找居民").fill("刘奶奶")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("button", name="为 刘奶奶 勾选签到").click()
    expect(page.get_by_text("已为 刘奶奶 签到（人工勾选）")).to_be_visible()
    expect(page.locator(".row", has_text="刘奶奶").get_by_text("人工勾选")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "activities-attendance-360.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the attendance list is {width} px wide at 360 px"

    db.session.expire_all()
    methods = dict(
        db.session.execute(
            select(Attendance.user_id, Attendance.method).where(
                Attendance.activity_id == lecture.id
            )
        ).all()
    )
    assert methods == {
        phone_user.id: CheckInMethod.SCAN,
        card_user.id: CheckInMethod.PERSONAL,
        grandma.id: CheckInMethod.HAND,
    }

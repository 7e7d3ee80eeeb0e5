"""End to end in a real browser: a resident signs up, finds a course, enrols and sees it
under 我的课程."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.accounts.models import User
from lms.extensions import db
from tests.browser.conftest import ARTIFACTS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_up_find_enrol_and_see_my_courses(live_server, browser_page, create_course):
    create_course("生猪科学养殖技术")
    create_course("太极拳养生", category="健康养生")
    page = browser_page

    page.goto(f"{live_server}/sign-up")
    page.get_by_label("手机号").fill("138 0013 8000")
    page.get_by_label("姓名").fill("张大爷")
    page.get_by_label("所在村（社区）").select_option(label="嘉明镇二村")
    page.get_by_label("出生年份（选填）").fill("1952")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_text("注册成功").is_visible()

    search = page.get_by_role("searchbox").first
    search.fill("养殖")
    search.press("Enter")
    page.wait_for_url("**/search?q=*")
    page.get_by_role("link", name="生猪科学养殖技术").first.click()
    page.get_by_role("button", name="报名学习").click()
    assert page.get_by_text("报名成功").is_visible()

    page.goto(f"{live_server}/me/courses")
    assert page.get_by_role("heading", name="我的课程").is_visible()
    assert page.get_by_text("生猪科学养殖技术").first.is_visible()
    assert page.get_by_text("太极拳养生").count() == 0
    page.screenshot(path=str(ARTIFACTS / "my-courses-360.png"), full_page=True)

    user = db.session.scalar(select(User).filter_by(phone="13800138000"))
    assert user is not None
    assert user.name == "张大爷"
    assert user.org_unit.name == "嘉明镇二村"

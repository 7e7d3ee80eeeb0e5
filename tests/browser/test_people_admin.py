"""A town administrator at phone size: imports a village roll with a few bad rows, reads the
dry-run list, imports the good rows, and resets one resident's password (issue 13)."""

from __future__ import annotations

import re

from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import select

from lms.accounts.models import Role, User
from lms.extensions import db
from tests.browser.conftest import ARTIFACTS, sign_in


def test_town_admin_imports_a_roll_and_resets_a_password(
    live_server, browser_page, create_user, tmp_path
):
    admin = create_user(Role.ADMIN, "福集镇", name="刘镇管")
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "村(社区)", "出生年份"])
    for n in range(8):
        sheet.append([f"居民{n}", f"1390000{n:04d}", "福集镇一村", 1950 + n])
    sheet.append(["重复", "13900000001", "福集镇一村", 1950])
    sheet.append(["外镇", "13900000099", "嘉明镇一村", 1950])
    sheet.append(["年份", "13900000098", "福集镇二村", 1700])
    roll = tmp_path / "一村名单.xlsx"
    book.save(roll)

    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server, admin)
    page.goto(f"{live_server}/admin/imports")
    page.get_by_label("名单文件").set_input_files(str(roll))
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_text("该村（社区）不在您的管理范围内")).to_be_visible()
    expect(page.get_by_text("手机号与第 3 行重复")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "import-dry-run-360.png"), full_page=True)

    page.get_by_role("button", name="导入 8 行无误的数据").click()
    expect(page.get_by_text("导入完成：新增 8 人，更新 0 人。")).to_be_visible()

    grandma = db.session.scalar(select(User).filter_by(phone="13900000003"))
    page.goto(f"{live_server}/admin/people/{grandma.id}")
    page.get_by_role("button", name="重置密码").click()
    expect(page.get_by_role("heading", name="密码已重置")).to_be_visible()
    expect(page.locator(".one-time-password")).to_have_text(re.compile(r"^[2-9a-z]{10}$"))
    page.screenshot(path=str(ARTIFACTS / "password-reset-slip-360.png"), full_page=True)
    db.session.expire_all()
    assert db.session.get(User, grandma.id).must_change_password

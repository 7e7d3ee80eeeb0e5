"""The credit bank end to end in Chromium at phone size: a resident completes a short course and
sees the credits once, downloads the transcript and opens its verify page; a volunteer
certificate is submitted, certified by a registrar, and the resident is told."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lms.credits import operations
from lms.credits.models import LedgerEntry, Transcript
from lms.extensions import db
from tests.browser.conftest import ARTIFACTS, sign_in, sign_out
from tests.credits.conftest import certify_hours, png_bytes, poppler, yesterday


@pytest.fixture
def app_config() -> dict:
    # The reading time of a text lesson has its own journey (test_video.py); here the one-line
    # lesson may be marked learnt at once.
    return {"LMS_READING_FLOOR_S": 0, "LMS_READING_CAP_S": 0}


def ledger_of(user) -> list[LedgerEntry]:
    db.session.expire_all()
    account = operations.account_for(user)
    return list(db.session.scalars(select(LedgerEntry).filter_by(account_id=account.id)))


def test_resident_completes_a_course_sees_credits_once_and_downloads_the_transcript(
    live_server, browser_page, resident, registrar, create_course
):
    course = certify_hours(create_course("防诈骗知识讲座", hours=16, lessons=1), registrar)
    lesson = course.lessons[0]
    page = browser_page
    sign_in(page, live_server, resident)
    page.goto(f"{live_server}/courses/{course.id}")
    page.get_by_role("button", name="报名学习").click()
    page.goto(f"{live_server}/lessons/{lesson.id}")
    page.get_by_role("button", name="我已学完").click()
    expect(page.get_by_text("已学完", exact=True)).to_be_visible()
    # The completion retried, as a double tap or a flaky connection would: nothing more.
    for _ in range(3):
        assert page.request.post(f"{live_server}/lessons/{lesson.id}/learnt").ok
    assert [entry.amount for entry in ledger_of(resident)] == [1]

    page.get_by_role("link", name="学分", exact=True).click()
    expect(page.locator(".balance__value")).to_contain_text("1")
    expect(page.get_by_text("防诈骗知识讲座").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "credits-browser-my-credits-360.png"), full_page=True)

    page.get_by_role("button", name="开具学分证明").click()
    expect(page.get_by_text("学分证明已开具")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").and_(page.locator('[href$=".pdf"]')).first.click()
    pdf = ARTIFACTS / "credits-browser-transcript.pdf"
    download.value.save_as(pdf)
    text = poppler("pdftotext", "-layout", str(pdf), "-")
    assert "学分证明" in text
    assert "王芳" in text
    assert "防诈骗知识讲座" in text
    poppler(
        "pdftoppm",
        "-r",
        "70",
        "-png",
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        str(pdf),
        str(ARTIFACTS / "credits-browser-transcript"),
    )

    transcript = db.session.scalars(select(Transcript)).one()
    verify_url = transcript.document["transcript"]["verify_url"]
    assert verify_url.startswith(live_server)
    sign_out(page)
    page.goto(verify_url)  # what a phone opens after scanning the QR code, signed out
    expect(page.get_by_text("真实有效").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "credits-browser-verify-360.png"), full_page=True)


def test_volunteer_certificate_is_certified_and_the_resident_is_told(
    live_server, browser_page, resident, registrar, tmp_path
):
    photo = tmp_path / "志愿服务证书.png"
    photo.write_bytes(png_bytes("lightyellow", (800, 600)))
    page = browser_page
    sign_in(page, live_server, resident)
    page.goto(f"{live_server}/me/credits")
    page.get_by_role("link", name="申报线下成果").first.click()
    page.get_by_label("成果类别").select_option(label="志愿服务")
    page.get_by_label("名称").fill("社区防汛志愿服务")
    page.get_by_label("学时").fill("8")
    page.get_by_label("日期").fill(yesterday().isoformat())
    page.get_by_label("发证或组织单位").fill("福集镇志愿者协会")
    page.get_by_label("证明材料").set_input_files(str(photo))
    page.screenshot(path=str(ARTIFACTS / "credits-browser-outcome-form-360.png"), full_page=True)
    page.get_by_role("button", name="提交申报").click()
    expect(page.get_by_text("待认证").first).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, registrar)
    page.get_by_role("link", name="认证", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^审核\s*“社区防汛志愿服务”$")).click()
    expect(page.locator("img").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "credits-browser-review-360.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())  # "确定认证？"
    page.get_by_role("button", name="认证通过").click()
    expect(page.get_by_text("已认证，学分已记入账户")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, resident)
    page.get_by_role("link", name="消息").click()
    expect(page.get_by_text("已通过认证")).to_be_visible()
    page.goto(f"{live_server}/me/credits")
    expect(page.locator(".balance__value")).to_contain_text("0.5")
    assert [str(entry.amount) for entry in ledger_of(resident)] == ["0.5"]

"""A live server on loopback and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    """A phone-sized page (360 × 800) in headless Chromium, in Simplified Chinese."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            viewport={"width": 360, "height": 800},
            locale="zh-CN",
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def sign_in(page: Page, live_server: str, user) -> None:
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("手机号").fill(user.phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The demo county served on loopback, and every page each role can reach (tests/browser/
    site.py): for the accessibility walk and the page weights."""
    from flask import g, request_started

    from lms.demo import DEMO_PASSWORD
    from lms.extensions import db
    from tests.browser.site import Site, discover, seed
    from tests.conftest import make_app
    from tests.serving import serve

    app = make_app(tmp_path_factory.mktemp("site"), LMS_RAISE_ERRORS=False)

    def fresh_g(sender, **extra):  # as tests/conftest.py's app: each request its own user
        g.__dict__.clear()

    request_started.connect(fresh_g, app)
    with app.app_context():
        db.create_all()
        named = seed(app)
        pages, unreached = discover(app, DEMO_PASSWORD, named)
        db.session.remove()
    base, stop = serve(app)
    yield Site(app, base, DEMO_PASSWORD, pages, unreached, named)
    stop()
    with app.app_context():
        db.engine.dispose()

"""Zero accessibility violations: axe-core (npm, tests/browser/axe/) on every page a guest, a
resident, a teacher, a registrar and an administrator can reach (found from the url_map at run
time, tests/browser/site.py), at 360 and 1280 px wide, in normal and elderly mode (长辈模式), in
Chinese and English (every page in a pairwise cover of those eight combinations, below); and at
320 px no page scrolls sideways (WCAG 1.4.10 reflow).

One browser for the whole walk; per combination one context per role, one page that goes from
URL to URL (static files come from the browser's cache after the first page), and axe run once
per page.
"""

from __future__ import annotations

import os
import time
from itertools import product
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.site import ROLES

pytestmark = [pytest.mark.browser, pytest.mark.once]

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (360, 1280)
REFLOW_WIDTH = 320
MODES = {"normal": None, "elderly": "22"}  # the 长辈模式 cookie (lms/accounts/elderly.py)
LANGUAGES = ("zh_CN", "en")


# Every page in four combinations that hold each pair of values (each width with each mode and
# each language, each mode with each language) at least once: a pairwise cover of the eight.
PAIRWISE = [
    (360, "normal", "zh_CN"),
    (360, "elderly", "en"),
    (1280, "normal", "en"),
    (1280, "elderly", "zh_CN"),
]


def combinations() -> list[tuple[int, str, str]]:
    """The pairwise four; LMS_AXE_ALL=1 walks all eight, LMS_AXE_ONLY="360:elderly:en" one."""
    only = os.environ.get("LMS_AXE_ONLY")
    if only:
        width, mode, language = only.split(":")
        return [(int(width), mode, language)]
    if os.environ.get("LMS_AXE_ALL"):
        return list(product(WIDTHS, MODES, LANGUAGES))
    return PAIRWISE


# axe.run: every rule axe runs by default (WCAG 2.x A and AA, best practices), violations only.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.failureSummary.split("\\n").slice(1, 2).join(""))
  }));
}"""
SIDEWAYS = """() => {
  const wide = [...document.querySelectorAll("body *")].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width && box.right > document.documentElement.clientWidth + 1;
  }).slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ")[0] : ""));
  return {scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth, wide};
}"""


def sign_in(browser: Browser, site, phone: str) -> dict:
    """The signed-in storage state of an account (signed in once, reused by every context)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.base}/sign-in")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(site.passwords)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    state = context.storage_state()
    context.close()
    return state


def open_context(browser: Browser, site, state, width: int, mode: str, language: str):
    context: BrowserContext = browser.new_context(
        viewport={"width": width, "height": 800},
        device_scale_factor=1,
        is_mobile=width < 720,
        has_touch=width < 720,
        locale="zh-CN",
        storage_state=state,
    )
    if MODES[mode]:
        context.add_cookies([{"name": "lms_elderly", "value": MODES[mode], "url": site.base}])
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{site.base}/lang/{language}?next=/")
    return context, page


def test_every_page_has_no_axe_violation_and_reflows_at_320(site):
    assert AXE.exists(), "run `bash .ci/setup --test` (npm ci in tests/browser/axe)"
    problems: list[str] = []
    started = time.monotonic()
    visits = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        states = {"guest": None}
        states.update({role: sign_in(browser, site, phone) for role, phone in ROLES.items()})
        for width, mode, language in combinations():
            combination = f"{width}px {mode} {language}"
            for role, urls in site.pages.items():
                context, page = open_context(browser, site, states[role], width, mode, language)
                for url in urls:
                    visits += 1
                    response = page.goto(site.base + url)
                    where = f"{combination} {role} {url}"
                    if response is None or response.status != 200:
                        problems.append(f"{where}: HTTP {response and response.status}")
                        continue
                    for violation in page.evaluate(RUN_AXE):
                        problems.append(
                            f"{where}: {violation['id']} ({violation['impact']}) "
                            f"{violation['help']}: {violation['nodes']}"
                        )
                    if width == WIDTHS[0]:
                        page.set_viewport_size({"width": REFLOW_WIDTH, "height": 800})
                        sideways = page.evaluate(SIDEWAYS)
                        if sideways["scroll"] > sideways["width"]:
                            problems.append(f"{where}: scrolls sideways at 320 px {sideways}")
                        page.set_viewport_size({"width": width, "height": 800})
                context.close()
        browser.close()
    elapsed = time.monotonic() - started
    pages = sum(len(urls) for urls in site.pages.values())
    print(
        f"\naxe walk: {pages} pages × {len(combinations())} combinations"
        f" = {visits} visits in {elapsed:.0f} s; rules no seeded object opens: {site.unreached}"
    )
    assert pages >= 40, site.pages  # the walk found the site
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:80])

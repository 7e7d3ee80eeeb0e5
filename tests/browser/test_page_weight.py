"""Every main page costs a phone under 200 KB before any media is played: the page, its styles,
scripts and pictures, as the browser's Performance API counts the bytes that came over the
network (transferSize: compressed bodies and headers), in a fresh 360 px phone context with an
empty cache. A video lesson fetches no media and not hls.js until play is pressed."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.site import ROLES

pytestmark = [pytest.mark.browser, pytest.mark.once]

BUDGET = 200 * 1024
TRANSFERRED = """() => {
  const [navigation] = performance.getEntriesByType("navigation");
  const resources = performance.getEntriesByType("resource");
  return {
    total: navigation.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    page: navigation.transferSize,
    files: resources.map(r => [r.name, r.transferSize]),
  };
}"""


def test_main_pages_weigh_under_200_kb_before_media(site):
    pages = {
        "home": "/",
        "catalogue": "/courses",
        "search": "/search?q=%E6%89%8B%E6%9C%BA",
        "course": site.named["course"],
        "video lesson": site.named["video_lesson"],
        "document lesson": site.named["document_lesson"],
        "my courses": "/me/courses",
        "my credits": "/me/credits",
        "learning file": "/me/learning-file",
    }
    weights = {}
    media = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        signing = browser.new_context()
        page = signing.new_page()
        page.goto(f"{site.base}/sign-in")
        page.get_by_label("手机号").fill(ROLES["resident"])
        page.get_by_label("密码").fill(site.passwords)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/sign-in" not in url)
        state = signing.storage_state()
        signing.close()
        for name, path in pages.items():
            # A fresh context each time: nothing cached, as on a first visit.
            context = browser.new_context(
                viewport={"width": 360, "height": 800},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                storage_state=state,
            )
            page = context.new_page()
            page.on(
                "request",
                lambda request: (
                    media.append(request.url)
                    if any(part in request.url for part in (".m3u8", ".ts", ".m4s", ".mp4", "hls."))
                    else None
                ),
            )
            response = page.goto(site.base + path, wait_until="networkidle")
            assert response.status == 200, (name, path, response.status)
            weights[name] = page.evaluate(TRANSFERRED)
            context.close()
        browser.close()
    print("\npage weights before media (KB transferred, 360 px, DPR 2, empty cache):")
    for name, weight in weights.items():
        print(
            f"  {name:<16} {weight['total'] / 1024:6.1f}  (the page itself {weight['page'] / 1024:.1f})"
        )
    assert media == [], "media or hls.js fetched before play"
    heavy = {
        name: (round(weight["total"] / 1024, 1), weight["files"])
        for name, weight in weights.items()
        if weight["total"] >= BUDGET
    }
    assert not heavy, heavy
    assert all(weight["page"] > 0 for weight in weights.values())  # counted over the network

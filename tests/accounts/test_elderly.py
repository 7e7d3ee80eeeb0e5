"""长辈模式: one tap from every page, remembered in a cookie and on the account, bigger and
smaller text within 20–30 px, and a form post that comes back to the page it came from."""

from __future__ import annotations

import pytest

from lms.accounts.elderly import COOKIE, next_text_px
from lms.extensions import db
from tests.conftest import sign_in


def _cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _html_class(page: str) -> str:
    head = page[: page.index(">", page.index("<html"))]
    return head.split('class="')[1].split('"')[0] if 'class="' in head else ""


def test_the_sizes_step_within_20_to_30():
    assert next_text_px(0, "on") == 22
    assert next_text_px(26, "on") == 26
    assert next_text_px(22, "off") == 0
    assert next_text_px(22, "bigger") == 24
    assert next_text_px(30, "bigger") == 30
    assert next_text_px(20, "smaller") == 20
    assert next_text_px(0, "bigger") == 22  # bigger while off: on, at the default size


def test_every_page_offers_the_switch_and_a_tap_comes_back_to_the_page(client, county):
    page = client.get("/courses").get_data(as_text=True)
    assert 'action="/preferences/elderly"' in page
    assert "长辈模式" in page
    assert "elderly" not in _html_class(page)

    response = client.post(
        "/preferences/elderly", data={"mode": "on", "next": "/courses?order=popular"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/courses?order=popular"
    assert _cookie(client) == "22"
    page = client.get("/courses").get_data(as_text=True)
    assert _html_class(page) == "elderly text-22"
    assert "退出长辈模式" in page

    client.post("/preferences/elderly", data={"mode": "bigger", "next": "/"})
    client.post("/preferences/elderly", data={"mode": "bigger", "next": "/"})
    assert _html_class(client.get("/").get_data(as_text=True)) == "elderly text-26"

    client.post("/preferences/elderly", data={"mode": "off", "next": "//evil.example/"})
    assert _cookie(client) == "0"
    assert "elderly" not in _html_class(client.get("/").get_data(as_text=True))


def test_the_account_remembers_it_on_another_phone(app, client, resident):
    sign_in(client, resident)
    response = client.post(
        "/preferences/elderly", data={"mode": "on"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.get_json() == {"on": True, "text_px": 22}
    db.session.refresh(resident)
    assert resident.elderly_text_px == 22

    other_phone = app.test_client()  # no cookie: the account's choice
    sign_in(other_phone, resident)
    assert _html_class(other_phone.get("/").get_data(as_text=True)) == "elderly text-22"
    # this phone's own latest choice wins over the account's
    other_phone.set_cookie(COOKIE, "0")
    assert "elderly" not in _html_class(other_phone.get("/").get_data(as_text=True))


def test_the_scripts_post_names_the_size_it_switched_to(client, county):
    client.set_cookie(COOKIE, "24")  # elderly.js has set the cookie before its post arrives
    response = client.post(
        "/preferences/elderly",
        data={"mode": "bigger", "text_px": "24"},
        headers={"Accept": "application/json"},
    )
    assert response.get_json() == {"on": True, "text_px": 24}
    assert _cookie(client) == "24"


def test_wrong_choices_are_refused_and_a_tampered_cookie_means_off(client, resident):
    sign_in(client, resident)
    for data in (
        {"mode": ""},
        {"mode": "biggest"},
        {"mode": "on<script>"},
        {"mode": "on", "text_px": "99"},
    ):
        response = client.post("/preferences/elderly", data=data)
        assert response.status_code == 400, data
        assert "请求有误" in response.get_data(as_text=True)
        assert _cookie(client) is None
    db.session.refresh(resident)
    assert resident.elderly_text_px is None

    client.set_cookie(COOKIE, "99")
    assert "elderly" not in _html_class(client.get("/").get_data(as_text=True))


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_switch_needs_the_pages_token(client, county, app_config):
    assert client.post("/preferences/elderly", data={"mode": "on"}).status_code == 400
    assert _cookie(client) is None

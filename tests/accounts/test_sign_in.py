"""Signing in and out on the web, the sign-in rate limits, and changing the password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.accounts.models import ApiToken, LoginAttempt
from lms.extensions import db
from tests.conftest import PASSWORD, api_token, new_phone, sign_in

WRONG = "Cuowu#mima99"
NEW_PASSWORD = "Xinmima#2027"
LIMITED = "登录失败次数过多，请 15 分钟后再试"


def page(response) -> str:
    return response.get_data(as_text=True)


def attempt(client, phone: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/sign-in",
        data={"phone": phone, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail(client, phone: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        response = attempt(client, phone, WRONG, address)
        assert response.status_code == 422, page(response)


def signed_in_name(client) -> str | None:
    response = client.get("/api/v1/me")
    return response.get_json()["name"] if response.status_code == 200 else None


# Signing in and out --------------------------------------------------------------------------


def test_sign_in_page(client, county):
    response = client.get("/sign-in")
    assert response.status_code == 200
    html = page(response)
    assert "手机号" in html
    assert "密码" in html


def test_sign_in_and_out(client, resident):
    response = client.post("/sign-in", data={"phone": resident.phone, "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_name(client) == "王芳"
    assert "欢迎回来，王芳" in page(client.get("/"))

    response = client.post("/sign-out")
    assert response.status_code == 302
    assert signed_in_name(client) is None
    assert client.get("/account").status_code == 302
    assert "您已退出登录" in page(client.get("/"))


def test_sign_out_needs_a_post(client, resident):
    sign_in(client, resident)
    assert client.get("/sign-out").status_code == 405
    assert signed_in_name(client) == "王芳"


def test_sign_in_accepts_the_phone_written_with_spaces_or_86(app, resident):
    spaced = f"{resident.phone[:3]} {resident.phone[3:7]} {resident.phone[7:]}"
    for written in (spaced, f"+86{resident.phone}"):
        client = app.test_client()
        assert attempt(client, written, PASSWORD).status_code == 302
        assert signed_in_name(client) == "王芳"


def test_sign_in_follows_a_local_next_only(app, resident):
    local = app.test_client().post(
        "/sign-in?next=/me/courses", data={"phone": resident.phone, "password": PASSWORD}
    )
    assert local.headers["Location"] == "/me/courses"
    for foreign in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = app.test_client().post(
            "/sign-in",
            query_string={"next": foreign},
            data={"phone": resident.phone, "password": PASSWORD},
        )
        assert response.headers["Location"] == "/", foreign


@pytest.mark.parametrize(
    "sneaky", ["/\\evil.example/", "/\t/evil.example/", "\\\\evil.example", "/%5C%5Cevil.example"]
)
def test_sign_in_next_cannot_leave_the_site_through_odd_slashes(app, resident, sneaky):
    response = app.test_client().post(
        "/sign-in",
        query_string={"next": sneaky},
        data={"phone": resident.phone, "password": PASSWORD},
    )
    location = response.headers["Location"]
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location


def test_pages_that_need_sign_in_send_visitors_to_sign_in_and_back(client, resident):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    assert "account" in response.headers["Location"]
    response = client.post(
        response.headers["Location"], data={"phone": resident.phone, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_signed_in_visitor_is_sent_away_from_sign_in(client, resident):
    sign_in(client, resident)
    assert client.get("/sign-in").status_code == 302


@pytest.mark.parametrize("phone_kind", ["known", "unknown", "malformed"])
def test_wrong_credentials_give_one_message(client, resident, phone_kind):
    phone = {"known": resident.phone, "unknown": new_phone(), "malformed": "12345"}[phone_kind]
    response = attempt(client, phone, WRONG)

    assert response.status_code == 422
    assert "手机号或密码不正确" in page(response)
    assert signed_in_name(client) is None


def test_wrong_password_keeps_the_phone_but_not_the_password(client, resident):
    html = page(attempt(client, resident.phone, WRONG))
    assert resident.phone in html
    assert WRONG not in html


def test_empty_sign_in_form(client, county):
    response = client.post("/sign-in", data={})
    assert response.status_code == 422
    html = page(response)
    assert "请填写手机号" in html
    assert "请填写密码" in html
    assert db.session.scalar(select(LoginAttempt.id)) is None  # nothing to count


def test_inactive_account_cannot_sign_in(client, resident):
    resident.active = False
    db.session.commit()
    response = attempt(client, resident.phone, PASSWORD)
    assert response.status_code == 422
    assert "手机号或密码不正确" in page(response)


def test_deactivating_an_account_signs_it_out(client, resident):
    sign_in(client, resident)
    resident.active = False
    db.session.commit()
    assert signed_in_name(client) is None


# Rate limits ---------------------------------------------------------------------------------


def test_five_failures_lock_the_phone_even_with_the_right_password(app, client, resident):
    fail(client, resident.phone, 5)

    response = attempt(client, resident.phone, PASSWORD)
    assert response.status_code == 429
    assert LIMITED in page(response)
    assert signed_in_name(client) is None

    # the API refuses too, with the error JSON
    response = app.test_client().post(
        "/api/v1/auth/tokens", json={"phone": resident.phone, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert response.get_json()["error"] == {"code": "rate_limited", "message": LIMITED}


def test_four_failures_do_not_lock(client, resident):
    fail(client, resident.phone, 4)
    assert attempt(client, resident.phone, PASSWORD).status_code == 302


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(app, resident):
    """Five wrong passwords from the stranger's address lock that address for this phone only:
    the owner, from anywhere else, signs in with the right password."""
    stranger = "198.51.100.7"
    fail(app.test_client(), resident.phone, 5, address=stranger)
    assert attempt(app.test_client(), resident.phone, PASSWORD, stranger).status_code == 429
    assert attempt(app.test_client(), resident.phone, PASSWORD, "203.0.113.99").status_code == 302


def test_failures_spread_over_many_addresses_only_slow_new_addresses(app, resident):
    for number in range(10):
        fail(app.test_client(), resident.phone, 1, address=f"198.51.100.{number}")
    response = attempt(app.test_client(), resident.phone, PASSWORD, address="203.0.113.99")
    assert response.status_code == 429
    assert "秒后再试" in page(response)
    # half a minute later the same address may try again: slowed, never locked
    for login_attempt in db.session.scalars(select(LoginAttempt)):
        login_attempt.attempted_at -= timedelta(seconds=31)
    db.session.commit()
    assert attempt(app.test_client(), resident.phone, PASSWORD, "203.0.113.99").status_code == 302


def test_the_owners_usual_address_is_never_slowed(app, resident):
    home = "203.0.113.20"
    assert attempt(app.test_client(), resident.phone, PASSWORD, home).status_code == 302
    for number in range(12):  # the last ones are already slowed down (429)
        attempt(app.test_client(), resident.phone, WRONG, f"198.51.100.{number}")
    assert attempt(app.test_client(), resident.phone, PASSWORD, home).status_code == 302


def test_a_locked_phone_does_not_lock_other_phones(app, create_user):
    victim, neighbour = create_user(name="甲"), create_user(name="乙")
    fail(app.test_client(), victim.phone, 5)
    assert attempt(app.test_client(), neighbour.phone, PASSWORD).status_code == 302


def test_the_phone_lock_ends_after_the_window(client, resident):
    fail(client, resident.phone, 5)
    assert attempt(client, resident.phone, PASSWORD).status_code == 429
    for login_attempt in db.session.scalars(select(LoginAttempt)):
        login_attempt.attempted_at -= timedelta(minutes=16)
    db.session.commit()
    assert attempt(client, resident.phone, PASSWORD).status_code == 302


def test_locked_attempts_are_not_counted_as_more_failures(client, resident):
    fail(client, resident.phone, 5)
    before = len(db.session.scalars(select(LoginAttempt)).all())
    for _ in range(3):
        assert attempt(client, resident.phone, WRONG).status_code == 429
    assert len(db.session.scalars(select(LoginAttempt)).all()) == before


def test_twenty_failures_from_one_address_lock_that_address(app, resident):
    address = "203.0.113.7"
    for _ in range(20):
        fail(app.test_client(), new_phone(), 1, address=address)

    response = attempt(app.test_client(), resident.phone, PASSWORD, address=address)
    assert response.status_code == 429
    assert LIMITED in page(response)
    # another address is not affected, and the resident's own phone was never locked
    assert attempt(app.test_client(), resident.phone, PASSWORD, "203.0.113.8").status_code == 302


def test_nineteen_failures_from_one_address_do_not_lock_it(app, resident):
    address = "203.0.113.7"
    for _ in range(19):
        fail(app.test_client(), new_phone(), 1, address=address)
    assert attempt(app.test_client(), resident.phone, PASSWORD, address).status_code == 302


def test_success_resets_the_phone_counter(app, resident):
    client = app.test_client()
    fail(client, resident.phone, 4)
    assert attempt(client, resident.phone, PASSWORD).status_code == 302
    client.post("/sign-out")

    fail(client, resident.phone, 4)
    assert attempt(client, resident.phone, PASSWORD).status_code == 302
    client.post("/sign-out")

    fail(client, resident.phone, 5)
    assert attempt(client, resident.phone, PASSWORD).status_code == 429


def test_own_account_sign_in_does_not_reset_the_address_counter(app, create_user):
    address = "203.0.113.50"
    attacker, victim = create_user(name="攻击者"), create_user(name="受害者")
    for _ in range(19):
        fail(app.test_client(), new_phone(), 1, address=address)
    assert attempt(app.test_client(), attacker.phone, PASSWORD, address).status_code == 302
    for _ in range(2):
        attempt(app.test_client(), new_phone(), WRONG, address)

    response = attempt(app.test_client(), victim.phone, WRONG, address)
    assert response.status_code == 429


def test_the_phone_lock_cannot_be_dodged_by_writing_the_phone_differently(client, resident):
    fail(client, resident.phone, 5)
    for written in (
        f"+86{resident.phone}",
        f"{resident.phone[:3]} {resident.phone[3:7]} {resident.phone[7:]}",
        f"{resident.phone[:3]}-{resident.phone[3:]}",
    ):
        response = attempt(client, written, WRONG)
        assert response.status_code == 429, written


# Changing the password -----------------------------------------------------------------------


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/account",
        data={"current": current, "new": new, "confirm": new if confirm is None else confirm},
    )


def test_account_page_shows_the_owner(client, resident):
    sign_in(client, resident)
    response = client.get("/account")
    assert response.status_code == 200
    html = page(response)
    assert "王芳" in html
    assert "福集镇一村" in html


def test_changing_the_password_signs_out_other_sessions_and_tokens(app, resident):
    here, elsewhere, phone_app = app.test_client(), app.test_client(), app.test_client()
    sign_in(here, resident)
    sign_in(elsewhere, resident)
    headers = api_token(phone_app, resident)

    response = change_password(here)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"

    assert signed_in_name(here) == "王芳"
    assert "密码已修改" in page(here.get("/account"))
    assert signed_in_name(elsewhere) is None
    assert elsewhere.get("/account").status_code == 302
    revoked = phone_app.get("/api/v1/me", headers=headers)
    assert revoked.status_code == 401
    assert revoked.get_json()["error"]["code"] == "unauthorized"
    assert all(token.revoked_at is not None for token in db.session.scalars(select(ApiToken)).all())


def test_after_a_change_only_the_new_password_works(app, resident):
    client = app.test_client()
    sign_in(client, resident)
    change_password(client)

    assert attempt(app.test_client(), resident.phone, PASSWORD).status_code == 422
    assert attempt(app.test_client(), resident.phone, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"current": WRONG}, "当前密码不正确"),
        ({"current": ""}, "请填写当前密码"),
        ({"new": "short1"}, "密码至少需要 8 位"),
        ({"new": "12345678"}, "这个密码太常见"),
        ({"new": PASSWORD}, "新密码不能与当前密码相同"),
        ({"confirm": "Xinmima#2028"}, "两次输入的密码不一致"),
    ],
)
def test_a_refused_password_change_changes_nothing(app, resident, fields, message):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, resident)
    sign_in(elsewhere, resident)

    response = change_password(here, **fields)
    assert response.status_code == 422
    assert message in page(response)
    assert signed_in_name(elsewhere) == "王芳"
    assert attempt(app.test_client(), resident.phone, PASSWORD).status_code == 302


def test_new_password_may_not_contain_the_phone(client, resident):
    sign_in(client, resident)
    response = change_password(client, new=f"x{resident.phone}")
    assert response.status_code == 422
    assert "密码不能包含手机号" in page(response)

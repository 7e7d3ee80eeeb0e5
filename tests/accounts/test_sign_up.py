"""Self sign-up of residents, on the web (/sign-up) and through the API (POST /api/v1/residents).

Every refusal is checked for what the resident sees (status and Chinese message) and for what
is left in the database (nothing: no user, no role grant)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Role, RoleGrant, User
from lms.extensions import db
from tests.conftest import PASSWORD, new_phone, sign_in, unit

NEW_PASSWORD = "Chunfeng#2026"


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def grant_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RoleGrant))


def find_user(phone: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).filter_by(phone=phone))


def form(**changes) -> dict:
    data = {
        "phone": new_phone(),
        "name": "陈秀英",
        "org_unit_id": str(unit("福集镇二村").id),
        "birth_year": "1958",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def body(**changes) -> dict:
    data = {
        "phone": new_phone(),
        "name": "陈秀英",
        "org_unit_id": unit("福集镇二村").id,
        "birth_year": 1958,
        "password": NEW_PASSWORD,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def page(response) -> str:
    return response.get_data(as_text=True)


def assert_api_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


# The web form --------------------------------------------------------------------------------


def test_sign_up_page_offers_villages_grouped_by_town(client, county):
    response = client.get("/sign-up")
    assert response.status_code == 200
    html = page(response)
    for village in ["福集镇一村", "福集镇二村", "嘉明镇一村", "嘉明镇二村"]:
        assert village in html
    assert f'value="{unit("福集镇").id}"' not in html  # a town is not a place to live in


def test_web_sign_up_creates_a_resident_and_signs_them_in(client, county):
    data = form(phone="139 0000 1234")
    response = client.post("/sign-up", data=data)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = find_user("13900001234")
    assert user is not None
    assert user.name == "陈秀英"
    assert user.birth_year == 1958
    assert user.org_unit.name == "福集镇二村"
    assert [(grant.role, grant.org_unit.name) for grant in user.grants] == [
        (Role.RESIDENT, "福集镇二村")
    ]
    assert user.password_hash != NEW_PASSWORD
    me = client.get("/api/v1/me").get_json()
    assert me["name"] == "陈秀英"
    assert me["phone"] == "139****1234"
    assert "注册成功" in page(client.get("/"))


def test_web_sign_up_then_sign_in_with_the_new_password(client, app, county):
    data = form()
    client.post("/sign-up", data=data)
    other = app.test_client()
    response = other.post("/sign-in", data={"phone": data["phone"], "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_web_sign_up_follows_a_local_next_but_not_a_foreign_one(app, county):
    local = app.test_client().post("/sign-up?next=/courses", data=form())
    assert local.headers["Location"] == "/courses"
    foreign = app.test_client().post("/sign-up?next=https://evil.example/", data=form())
    assert foreign.headers["Location"] == "/"
    sneaky = app.test_client().post("/sign-up?next=//evil.example/", data=form())
    assert sneaky.headers["Location"] == "/"


def test_signed_in_visitor_is_sent_away_from_sign_up(client, resident):
    sign_in(client, resident)
    response = client.get("/sign-up")
    assert response.status_code == 302
    before = user_count()
    client.post("/sign-up", data=form())
    assert user_count() == before


def test_web_sign_up_birth_year_is_optional(client, county):
    data = form(birth_year="")
    assert client.post("/sign-up", data=data).status_code == 302
    assert find_user(data["phone"]).birth_year is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phone": "12345"}, "手机号格式不正确"),
        ({"phone": "2390000123a"}, "手机号格式不正确"),
        ({"phone": "1390000123"}, "手机号格式不正确"),
        ({"password": "Ab#1234", "confirm": "Ab#1234"}, "密码至少需要 8 位"),
        ({"password": "12345678", "confirm": "12345678"}, "这个密码太常见"),
        ({"password": "woaini1314", "confirm": "woaini1314"}, "这个密码太常见"),
        ({"password": "aaaaaaaaaa", "confirm": "aaaaaaaaaa"}, "这个密码太常见"),
        ({"confirm": "Chunfeng#2027"}, "两次输入的密码不一致"),
        ({"name": "<script>alert(1)</script>"}, "姓名不能包含特殊符号"),
        ({"name": "张" * 41}, "不能超过 40 个字"),
        ({"birth_year": "1850"}, "出生年份应在"),
        ({"phone": ""}, "请填写手机号"),
        ({"name": ""}, "请填写姓名"),
        ({"password": "", "confirm": ""}, "请设置密码"),
    ],
)
def test_web_sign_up_refuses_bad_fields(client, county, changes, message):
    before = (user_count(), grant_count())
    response = client.post("/sign-up", data=form(**changes))

    assert response.status_code == 422
    assert message in page(response)
    assert (user_count(), grant_count()) == before
    assert client.get("/api/v1/me").status_code == 401  # not signed in either


def test_web_sign_up_refuses_a_password_containing_the_phone(client, county):
    phone = new_phone()
    response = client.post(
        "/sign-up", data=form(phone=phone, password=f"{phone}ab", confirm=f"{phone}ab")
    )
    assert response.status_code == 422
    assert "密码不能包含手机号" in page(response)
    assert find_user(phone) is None


def test_web_sign_up_keeps_what_was_typed_after_an_error(client, county):
    response = client.post("/sign-up", data=form(name="黄大爷", password="123", confirm="123"))
    assert response.status_code == 422
    html = page(response)
    assert "黄大爷" in html
    assert 'value="123"' not in html  # passwords are never echoed back


def test_web_sign_up_refuses_a_phone_already_registered(client, resident):
    before = (user_count(), grant_count())
    response = client.post("/sign-up", data=form(phone=resident.phone, name="冒名者"))

    assert response.status_code == 422
    assert "该手机号已注册" in page(response)
    assert (user_count(), grant_count()) == before
    assert find_user(resident.phone).name == "王芳"


def test_web_sign_up_refuses_a_duplicate_phone_written_differently(client, resident):
    before = user_count()
    written = f"+86 {resident.phone[:3]} {resident.phone[3:7]} {resident.phone[7:]}"
    response = client.post("/sign-up", data=form(phone=written))
    assert response.status_code == 422
    assert "该手机号已注册" in page(response)
    assert user_count() == before


@pytest.mark.parametrize("org_unit", ["999999", "福集镇", "泸县", "", "abc"])
def test_web_sign_up_requires_an_existing_village(client, county, org_unit):
    value = str(unit(org_unit).id) if org_unit in ("福集镇", "泸县") else org_unit
    before = (user_count(), grant_count())
    response = client.post("/sign-up", data=form(org_unit_id=value))
    assert response.status_code == 422
    assert (user_count(), grant_count()) == before


def test_web_sign_up_without_the_village_field(client, county):
    before = user_count()
    response = client.post("/sign-up", data=form(org_unit_id=None))
    assert response.status_code == 422
    assert "请选择所在村（社区）" in page(response)
    assert user_count() == before


# The API -------------------------------------------------------------------------------------


def test_api_sign_up_creates_a_resident(client, county):
    response = client.post("/api/v1/residents", json=body(phone="+86 139-0000-5678"))

    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "陈秀英"
    assert created["phone"] == "139****5678"
    assert created["org_unit"]["name"] == "福集镇二村"
    assert created["org_unit"]["level"] == "village"
    assert created["org_unit"]["full_name"] == "泸县 / 福集镇 / 福集镇二村"
    assert created["roles"] == [{"role": "resident", "org_unit_id": unit("福集镇二村").id}]
    user = find_user("13900005678")
    assert user.id == created["id"]
    assert user.birth_year == 1958
    token = client.post(
        "/api/v1/auth/tokens", json={"phone": "13900005678", "password": NEW_PASSWORD}
    )
    assert token.status_code == 201


def test_api_sign_up_does_not_sign_in_a_cookie_session(client, county):
    client.post("/api/v1/residents", json=body())
    assert client.get("/api/v1/me").status_code == 401


def test_api_sign_up_birth_year_is_optional(client, county):
    data = body(birth_year=None)
    assert client.post("/api/v1/residents", json=data).status_code == 201
    assert find_user(data["phone"]).birth_year is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "手机号格式不正确"),
        ({"phone": "23900001234"}, "phone", "手机号格式不正确"),
        ({"phone": "139000012345"}, "phone", "手机号格式不正确"),
        ({"phone": ""}, "phone", "请填写手机号"),
        ({"password": "Ab#1234"}, "password", "密码至少需要 8 位"),
        ({"password": "12345678"}, "password", "这个密码太常见"),
        ({"password": "woaini1314"}, "password", "这个密码太常见"),
        ({"password": "WoAiNi1314"}, "password", "这个密码太常见"),
        ({"password": "x" * 129}, "password", "密码不能超过 128 位"),
        ({"name": "<script>alert(1)</script>"}, "name", "姓名不能包含特殊符号"),
        ({"name": "   "}, "name", "请填写姓名"),
        ({"name": "张" * 41}, "name", "姓名不能超过 40 个字"),
        ({"birth_year": 1850}, "birth_year", "出生年份应在"),
        ({"birth_year": 2999}, "birth_year", "出生年份应在"),
        ({"birth_year": "一九五八"}, "birth_year", "请填写整数"),
        ({"org_unit_id": 999999}, "org_unit_id", "请选择所在村（社区）"),
        ({"org_unit_id": "福集镇二村"}, "org_unit_id", "请填写整数"),
        ({"role": "admin"}, "role", "不支持此字段"),
    ],
)
def test_api_sign_up_refuses_bad_fields(client, county, changes, field, message):
    before = (user_count(), grant_count())
    response = client.post("/api/v1/residents", json=body(**changes))

    error = assert_api_error(response, 422, "validation_error")
    assert any(message in text for text in error["fields"][field]), error
    assert (user_count(), grant_count()) == before


def test_api_sign_up_refuses_a_password_containing_the_phone(client, county):
    phone = new_phone()
    response = client.post("/api/v1/residents", json=body(phone=phone, password=f"lx{phone}"))
    error = assert_api_error(response, 422, "validation_error")
    assert error["fields"]["password"] == ["密码不能包含手机号"]
    assert find_user(phone) is None


@pytest.mark.parametrize("level", ["福集镇", "泸县"])
def test_api_sign_up_refuses_a_town_or_the_county_as_home(client, county, level):
    before = (user_count(), grant_count())
    response = client.post("/api/v1/residents", json=body(org_unit_id=unit(level).id))
    error = assert_api_error(response, 422, "validation_error")
    assert error["fields"]["org_unit_id"] == ["请选择具体的村（社区）"]
    assert (user_count(), grant_count()) == before


def test_api_sign_up_refuses_a_duplicate_phone(client, resident):
    before = (user_count(), grant_count())
    response = client.post("/api/v1/residents", json=body(phone=resident.phone, name="冒名者"))

    error = assert_api_error(response, 409, "conflict")
    assert "该手机号已注册" in error["message"]
    assert error["fields"]["phone"]
    assert (user_count(), grant_count()) == before
    # the existing account is untouched: its owner still signs in with the old password
    assert (
        client.post(
            "/api/v1/auth/tokens", json={"phone": resident.phone, "password": PASSWORD}
        ).status_code
        == 201
    )


def test_api_sign_up_refuses_a_duplicate_phone_written_with_86(client, resident):
    before = user_count()
    response = client.post("/api/v1/residents", json=body(phone=f"+86{resident.phone}"))
    assert_api_error(response, 409, "conflict")
    assert user_count() == before


def test_api_sign_up_lists_every_missing_field(client, county):
    response = client.post("/api/v1/residents", json={})
    error = assert_api_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"phone", "password", "name", "org_unit_id"}
    assert error["fields"]["phone"] == ["此项必填"]
    assert user_count() == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("phone=13900000000&password=x", "application/x-www-form-urlencoded", 415, None),
        ("phone: 13900000000", "text/plain", 415, "unsupported_media_type"),
        ('{"phone": "13900000000",', "application/json", 400, "malformed_json"),
        ("", "application/json", 400, "malformed_json"),
        ("\xff\xfe", "application/json", 400, "malformed_json"),
    ],
)
def test_api_sign_up_refuses_a_body_that_is_not_json(
    client, county, data, content_type, status, code
):
    response = client.post("/api/v1/residents", data=data, content_type=content_type)
    assert_api_error(response, status, code)
    assert "<html" not in response.get_data(as_text=True).lower()
    assert user_count() == 0


@pytest.mark.parametrize("payload", [[], ["13900000000"], "13900000000", 42, None])
def test_api_sign_up_refuses_json_that_is_not_an_object(client, county, payload):
    response = client.post(
        "/api/v1/residents", data=json.dumps(payload), content_type="application/json"
    )
    error = assert_api_error(response, 400, "malformed_json")
    assert "JSON" in error["message"]
    assert user_count() == 0


def test_api_sign_up_answers_in_chinese(client, county):
    response = client.post("/api/v1/residents", json=body(phone="123"))
    assert response.get_json()["error"]["message"] == "手机号格式不正确，请填写 11 位大陆手机号"
    response = client.post("/api/v1/residents", json={})
    assert response.get_json()["error"]["message"] == "提交的内容有误，请检查后重试"


def test_api_password_with_surrounding_spaces_works_on_the_web(app, client, county):
    phone = new_phone()
    password = " Chunfeng#2026 "
    assert (
        client.post("/api/v1/residents", json=body(phone=phone, password=password)).status_code
        == 201
    )
    response = app.test_client().post("/sign-in", data={"phone": phone, "password": password})
    assert response.status_code == 302


def test_api_sign_up_with_an_absurd_org_unit_id_is_a_validation_error(client, county):
    response = client.post("/api/v1/residents", json=body(org_unit_id=2**70))
    assert_api_error(response, 422, "validation_error")
    assert user_count() == 0


# Limits: sign-ups per address and per number block; testing phones costs what sign-in costs ---


def sign_up_from(app, address: str, **changes):
    return app.test_client().post(
        "/api/v1/residents", json=body(**changes), environ_base={"REMOTE_ADDR": address}
    )


def test_ten_sign_ups_from_one_address_in_an_hour_then_429(app, county):
    for _ in range(10):
        assert sign_up_from(app, "203.0.113.5").status_code == 201
    response = sign_up_from(app, "203.0.113.5")
    assert response.status_code == 429
    assert response.get_json()["error"]["message"] == "注册太频繁，请稍后再试"
    assert user_count() == 10
    assert sign_up_from(app, "203.0.113.6").status_code == 201  # another address is not held up


@pytest.mark.parametrize("app_config", [{"LMS_SIGNUP_MAX_PER_PREFIX": 3}])
def test_sign_ups_in_one_number_block_are_limited_across_addresses(app, county):
    for number in range(3):
        phone = f"1370055{number:04d}"
        assert sign_up_from(app, f"198.51.100.{number}", phone=phone).status_code == 201
    response = sign_up_from(app, "198.51.100.99", phone="13700559999")
    assert response.status_code == 429
    assert sign_up_from(app, "198.51.100.99", phone="13800559999").status_code == 201


def test_testing_registered_phones_by_sign_up_costs_like_wrong_passwords(app, resident):
    """Each sign-up for a registered phone counts as a failed sign-in for that phone from that
    address: five, and that address may neither sign up with it nor sign in to it for a while;
    the owner elsewhere is not affected."""
    prober = "198.51.100.66"
    for _ in range(5):
        response = sign_up_from(app, prober, phone=resident.phone)
        assert response.status_code == 409
    assert sign_up_from(app, prober, phone=resident.phone).status_code == 429
    signed_in = app.test_client().post(
        "/sign-in",
        data={"phone": resident.phone, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": prober},
    )
    assert signed_in.status_code == 429
    owner = app.test_client().post(
        "/sign-in",
        data={"phone": resident.phone, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert owner.status_code == 302


def test_the_web_form_answers_429_when_limited(app, county):
    for _ in range(10):
        sign_up_from(app, "203.0.113.9")
    response = app.test_client().post(
        "/sign-up", data=form(), environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert response.status_code == 429
    assert "注册太频繁" in page(response)

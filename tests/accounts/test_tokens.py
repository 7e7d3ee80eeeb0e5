"""API tokens (POST /api/v1/auth/tokens, DELETE …/current), GET /api/v1/me and the org tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts.models import ApiToken, Role
from lms.core.time import utcnow
from lms.extensions import db
from tests.conftest import PASSWORD, api_token, new_phone, sign_in, unit


def request_token(client, phone: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/tokens", json={"phone": phone, "password": password})


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def assert_error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error["message"]


def token_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken))


# Getting a token -----------------------------------------------------------------------------


def test_a_resident_gets_a_token(client, resident):
    before = utcnow()
    response = request_token(client, resident.phone)

    assert response.status_code == 201
    body = response.get_json()
    assert len(body["token"]) >= 32
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None
    assert (
        before + timedelta(days=30) - timedelta(minutes=1)
        <= expires_at
        <= utcnow() + timedelta(days=30)
    )
    assert body["user"]["id"] == resident.id
    assert body["user"]["name"] == "王芳"
    assert body["user"]["phone"] == f"{resident.phone[:3]}****{resident.phone[-4:]}"
    assert body["user"]["roles"] == [{"role": "resident", "org_unit_id": unit("福集镇一村").id}]
    # only a digest is kept
    stored = db.session.scalar(select(ApiToken))
    assert body["token"] not in stored.token_hash


def test_each_sign_in_gets_its_own_token(client, resident):
    first = request_token(client, resident.phone).get_json()["token"]
    second = request_token(client, resident.phone).get_json()["token"]
    assert first != second
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200


def test_a_token_for_the_phone_written_with_86(client, resident):
    assert request_token(client, f"+86 {resident.phone}").status_code == 201


@pytest.mark.parametrize("phone_kind", ["known", "unknown", "malformed"])
def test_wrong_credentials_get_401_and_no_token(client, resident, phone_kind):
    phone = {"known": resident.phone, "unknown": new_phone(), "malformed": "110"}[phone_kind]
    response = request_token(client, phone, "Cuowu#mima99")

    message = assert_error(response, 401, "invalid_credentials")
    assert message == "手机号或密码不正确"
    assert "token" not in response.get_json()
    assert token_count() == 0


def test_an_inactive_account_gets_no_token(client, resident):
    resident.active = False
    db.session.commit()
    assert_error(request_token(client, resident.phone), 401, "invalid_credentials")


def test_token_request_with_missing_fields(client, county):
    response = client.post("/api/v1/auth/tokens", json={"phone": "13600000001"})
    assert_error(response, 422, "validation_error")
    assert response.get_json()["error"]["fields"] == {"password": ["此项必填"]}


def test_token_request_that_is_not_json(client, resident):
    response = client.post(
        "/api/v1/auth/tokens", data={"phone": resident.phone, "password": PASSWORD}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert token_count() == 0


# Using a token -------------------------------------------------------------------------------


def test_me_with_a_bearer_token(client, create_user):
    teacher = create_user(Role.TEACHER, "福集镇", name="李老师")
    response = client.get("/api/v1/me", headers=api_token(client, teacher))

    assert response.status_code == 200
    me = response.get_json()
    assert me["id"] == teacher.id
    assert me["name"] == "李老师"
    assert me["phone"] == f"{teacher.phone[:3]}****{teacher.phone[-4:]}"
    assert teacher.phone not in response.get_data(as_text=True)
    assert me["org_unit"]["name"] == "福集镇"
    assert me["org_unit"]["level"] == "town"
    assert sorted(role["role"] for role in me["roles"]) == ["resident", "teacher"]
    assert response.headers["Cache-Control"] == "no-store"


def test_me_with_the_web_session(client, resident):
    sign_in(client, resident)
    assert client.get("/api/v1/me").get_json()["name"] == "王芳"


def test_me_without_a_token_is_401_json_never_a_redirect(client, county):
    response = client.get("/api/v1/me", headers={"Accept": "text/html"})

    message = assert_error(response, 401, "unauthorized")
    assert message == "请先登录"
    assert "Location" not in response.headers
    assert "<html" not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer not-a-real-token", "登录凭据无效"),
        ("Bearer " + "x" * 5000, "登录凭据无效"),
        ("Bearer ", "格式不正确"),
        ("Basic dXNlcjpwYXNz", "格式不正确"),
        ("garbage", "格式不正确"),
    ],
)
def test_me_with_a_garbage_token_is_401(client, resident, header, message):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert message in assert_error(response, 401, "unauthorized")


def test_a_bad_token_does_not_fall_back_to_the_session(client, resident):
    sign_in(client, resident)
    response = client.get("/api/v1/me", headers=bearer("not-a-real-token"))
    assert response.status_code == 401


def test_an_expired_token_is_401_and_says_so(client, resident):
    headers = api_token(client, resident)
    token = db.session.scalar(select(ApiToken))
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    response = client.get("/api/v1/me", headers=headers)
    message = assert_error(response, 401, "unauthorized")
    assert "过期" in message


def test_a_token_still_valid_for_a_minute_works(client, resident):
    headers = api_token(client, resident)
    token = db.session.scalar(select(ApiToken))
    token.expires_at = datetime.now(UTC) + timedelta(minutes=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_token_of_a_deactivated_account_stops_working(client, resident):
    headers = api_token(client, resident)
    resident.active = False
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_signing_out_a_token(client, resident):
    headers = api_token(client, resident)
    other = api_token(client, resident)

    response = client.delete("/api/v1/auth/tokens/current", headers=headers)
    assert response.status_code == 204
    assert response.get_data() == b""

    message = assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")
    assert "登录凭据无效" in message
    assert_error(client.delete("/api/v1/auth/tokens/current", headers=headers), 401, "unauthorized")
    # only that token is signed out
    assert client.get("/api/v1/me", headers=other).status_code == 200
    assert db.session.scalar(select(func.count()).where(ApiToken.revoked_at.is_not(None))) == 1


def test_signing_out_without_a_token_is_401(client, county):
    assert_error(client.delete("/api/v1/auth/tokens/current"), 401, "unauthorized")


# The API never answers with HTML -------------------------------------------------------------


def test_unknown_api_path_is_404_json(client, county):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_json(client, county):
    response = client.delete("/api/v1/me")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


# The org tree --------------------------------------------------------------------------------


def test_org_units_are_the_tree(client, county):
    response = client.get("/api/v1/org-units")

    assert response.status_code == 200
    root = response.get_json()
    assert (root["name"], root["level"], root["population"]) == ("泸县", "county", 1000)
    assert root["id"] == county.id
    assert [town["name"] for town in root["children"]] == ["福集镇", "嘉明镇"]
    for town in root["children"]:
        assert town["level"] == "town"
        assert town["population"] == 400
        assert [village["name"] for village in town["children"]] == [
            f"{town['name']}一村",
            f"{town['name']}二村",
        ]
        assert {village["level"] for village in town["children"]} == {"village"}
        assert all(village["children"] == [] for village in town["children"])
        assert town["id"] == unit(town["name"]).id


def test_org_units_need_no_sign_in_but_work_with_one(client, resident):
    anonymous = client.get("/api/v1/org-units").get_json()
    signed_in = client.get("/api/v1/org-units", headers=api_token(client, resident)).get_json()
    assert anonymous == signed_in


def test_org_units_on_an_empty_database(client, app):
    assert_error(client.get("/api/v1/org-units"), 404, "not_found")

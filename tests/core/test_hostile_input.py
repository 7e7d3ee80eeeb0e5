"""Bodies written to break the parser get a 400 or 413 with the error JSON, on every JSON endpoint,
signed in or not; nothing is stored and nothing is logged as an unexpected error."""

from __future__ import annotations

import io

import pytest

from lms.core.api import MAX_JSON_BYTES, json_depth
from tests.conftest import api_token

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 500 + "1" + "}" * 500


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, '{"phone": ' + DEEP + "}"])
@pytest.mark.parametrize("path", ["/api/v1/auth/tokens", "/api/v1/residents", "/api/v1/verify"])
def test_deeply_nested_json_is_a_400_not_a_500(client, county, caplog, path, body):
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"
    assert "unexpected error" not in caplog.text


def test_deep_json_from_a_signed_in_user_too(client, resident, create_course):
    course = create_course()
    response = client.put(
        f"/api/v1/courses/{course.id}/enrolment",
        data=DEEP,
        content_type="application/json",
        headers=api_token(client, resident),
    )
    assert response.status_code in (200, 201, 400)  # this endpoint takes no body


def test_an_oversized_json_body_is_a_413(client, county):
    body = '{"phone": "' + "1" * (MAX_JSON_BYTES + 10) + '"}'
    response = client.post("/api/v1/auth/tokens", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_brackets_inside_strings_do_not_count_as_depth():
    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert json_depth(b'["\\"[[[[", [1]]') == 2
    assert json_depth(DEEP.encode()) == 1000


def test_ordinary_nesting_still_works(client, resident):
    response = client.post(
        "/api/v1/auth/tokens", json={"phone": resident.phone, "password": "错误的密码"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\u202e", "\ud800", "\x85"])
def test_control_characters_are_refused_in_any_json_string(client, teacher, categories, bad):
    headers = api_token(client, teacher)
    body = {"title": f"养蜂{bad}技术", "summary": "", "category": "农村实用技术", "hours": 2}
    response = client.post("/api/v1/courses", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"title": ["内容包含不允许的控制字符"]}
    assert client.get("/api/v1/courses", headers=headers).get_json()["total"] == 0


def test_tabs_and_line_breaks_are_ordinary_text(client, teacher, categories):
    headers = api_token(client, teacher)
    body = {
        "title": "养蜂\t技术",
        "summary": "第一行\n第二行\r\n",
        "category": "农村实用技术",
        "hours": 2,
    }
    assert client.post("/api/v1/courses", json=body, headers=headers).status_code == 201


def test_a_typed_entity_stays_as_typed_in_titles(client, teacher, categories):
    headers = api_token(client, teacher)
    body = {"title": "&lt;script&gt; 防骗讲座", "category": "农村实用技术", "hours": 2}
    response = client.post("/api/v1/courses", json=body, headers=headers)
    assert response.status_code == 201
    assert response.get_json()["title"] == "&lt;script&gt; 防骗讲座"


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\u202e"])
def test_control_characters_are_refused_in_forms(client, county, bad):
    from lms.accounts.models import User
    from lms.extensions import db
    from tests.conftest import new_phone, unit

    response = client.post(
        "/sign-up",
        data={
            "phone": new_phone(),
            "name": f"王{bad}芳",
            "password": "Qingshan#2026",
            "confirm": "Qingshan#2026",
            "org_unit_id": unit("福集镇一村").id,
        },
    )
    assert response.status_code == 422
    assert "内容包含不允许的控制字符" in response.get_data(as_text=True)
    assert db.session.query(User).count() == 0


def test_control_characters_in_multipart_api_fields_and_file_names(client, resident):
    from tests.credits.conftest import png_bytes, yesterday

    headers = api_token(client, resident)
    for fields, name in (({"title": "志愿\x00服务"}, "证书.png"), ({}, "证\x07书.png")):
        data = {
            "kind": "volunteer",
            "title": "社区防汛志愿服务",
            "hours": "8",
            "occurred_on": yesterday().isoformat(),
            "issuer": "福集镇志愿者协会",
            **fields,
            "evidence": (io.BytesIO(png_bytes()), name),
        }
        response = client.post(
            "/api/v1/me/outcomes", data=data, headers=headers, content_type="multipart/form-data"
        )
        assert response.status_code == 422, response.get_json()
        assert "控制字符" in response.get_json()["error"]["message"]

"""Bodies written to break the parser get a 400 or 413 with the error JSON, on every JSON endpoint,
signed in or not; nothing is stored and nothing is logged as an unexpected error."""

from __future__ import annotations

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

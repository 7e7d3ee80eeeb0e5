"""The OpenAPI document is generated from the code and covers every API route."""

from __future__ import annotations

import re

import pytest


def test_openapi_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method) for path, spec in document["paths"].items() for method in spec}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api_docs.openapi_json":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)


def test_openapi_schemas_resolve(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in schemas
    token = document["paths"]["/auth/tokens"]["post"]
    assert token["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("TokenIn")
    assert "201" in token["responses"]


def _operation(client, path: str, method: str) -> dict:
    return client.get("/api/v1/openapi.json").get_json()["paths"][path][method]


def test_every_operation_documents_its_error_statuses(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path, spec in document["paths"].items():
        for method, operation in spec.items():
            responses = operation["responses"]
            assert "4XX" in responses, (path, method)
            if operation.get("security") and {} not in operation["security"]:
                assert "401" in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= responses.keys(), (path, method)
            for status, answer in responses.items():
                if status.startswith("4") and status != "422":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method)


def test_alternative_answers_are_documented(client):
    learning_file = _operation(client, "/me/learning-file", "get")["responses"]["200"]
    shapes = learning_file["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/LearningFileOut"} in shapes
    assert any(shape.get("type") == "array" for shape in shapes)

    enrolment = _operation(client, "/courses/{course_id}/enrolment", "put")["responses"]
    assert {"200", "201"} <= enrolment.keys()

    verify = _operation(client, "/verify", "post")
    assert verify["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert "anyOf" in verify["responses"]["422"]["content"]["application/json"]["schema"]


def test_transcript_files_need_a_code_only_from_strangers(client):
    for kind, media_type in (("pdf", "application/pdf"), ("json", "application/json")):
        operation = _operation(client, f"/transcripts/{{serial}}.{kind}", "get")
        assert {} in operation["security"]
        assert {"bearer": []} in operation["security"]
        code = next(p for p in operation["parameters"] if p["name"] == "code")
        assert code["in"] == "query"
        assert code["required"] is False
        serial = next(p for p in operation["parameters"] if p["name"] == "serial")
        assert serial["schema"] == {"type": "string"}
        assert "requestBody" not in operation
        assert media_type in operation["responses"]["200"]["content"]


class TestAnonymousSessionCookie:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_write_without_sign_in_is_401_not_csrf_failed(self, client, county):
        client.get("/sign-in")  # an anonymous visitor's session cookie
        assert client.get_cookie("session") is not None
        response = client.post("/api/v1/me/transcripts", json={})
        assert response.status_code == 401, response.get_json()
        assert response.get_json()["error"]["code"] == "unauthorized"

    def test_a_signed_in_session_still_needs_the_csrf_token(self, client, resident):
        from tests.conftest import PASSWORD, csrf_token

        token = csrf_token(client)
        client.post(
            "/sign-in", data={"phone": resident.phone, "password": PASSWORD, "csrf_token": token}
        )
        response = client.post("/api/v1/me/transcripts", json={})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "csrf_failed"

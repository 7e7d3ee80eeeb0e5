from tests.conftest import api_token


def test_resident_gets_me(client, resident):
    headers = api_token(client, resident)
    body = client.get("/api/v1/me", headers=headers).get_json()
    assert body["name"] == "王芳"
    assert body["phone"].count("*") == 4

"""Security from the first line: CSRF, cookies, headers, error pages, the generated secret."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lms.accounts.models import User
from lms.extensions import db
from tests.conftest import PASSWORD, api_token, csrf_token, make_app


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_form_without_csrf_token_is_refused_and_saves_nothing(client, county):
    response = client.post(
        "/sign-up",
        data={"phone": "13612345678", "name": "张三", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert db.session.query(User).count() == 0


def test_sign_in_with_csrf_token_works(client, resident):
    token = csrf_token(client)
    response = client.post(
        "/sign-in", data={"phone": resident.phone, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_cookie_authenticated_api_write_needs_csrf_header(client, resident, create_course):
    course = create_course()
    token = csrf_token(client)
    client.post(
        "/sign-in", data={"phone": resident.phone, "password": PASSWORD, "csrf_token": token}
    )

    refused = client.put(f"/api/v1/courses/{course.id}/enrolment")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_failed"

    accepted = client.put(f"/api/v1/courses/{course.id}/enrolment", headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


def test_bearer_api_write_needs_no_csrf(client, resident, create_course):
    course = create_course()
    headers = api_token(client, resident)
    assert client.put(f"/api/v1/courses/{course.id}/enrolment", headers=headers).status_code == 201


def test_security_headers_on_pages_and_api(client, county):
    for path in ("/", "/api/v1/org-units"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_keep_the_content_security_policy(client, resident, create_course):
    """No inline scripts, styles or handlers, which the policy would block."""
    course = create_course()
    client.post(
        "/sign-in",
        data={"phone": resident.phone, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert client.get("/me/courses").status_code == 200
    for path in ("/", "/courses", f"/courses/{course.id}", "/me/courses", "/account", "/nope"):
        html = client.get(path).get_data(as_text=True)
        assert "style=" not in html, path
        assert " onclick=" not in html, path
        assert "<script>" not in html, path


def test_session_cookie_is_httponly_and_samesite(client, resident):
    response = client.post(
        "/sign-in",
        data={"phone": resident.phone, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_secure_cookies_when_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_SECURE_COOKIES", "1")
    app = make_app(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_error_pages_are_chinese(client, county):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_api_errors_are_json_never_html(client, county):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.post("/api/v1/org-units")
    assert response.status_code == 405
    assert response.get_json()["error"]["message"]


def test_unexpected_error_gives_chinese_500(tmp_path):
    app = make_app(tmp_path, LMS_RAISE_ERRORS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("boom")

    with app.app_context():
        client = app.test_client()
        response = client.get("/boom")
        assert response.status_code == 500
        assert "系统出错了" in response.get_data(as_text=True)
        assert client.get("/api/v1/boom").get_json()["error"]["code"] == "internal_error"


def test_secret_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    first = make_app(tmp_path)
    second = make_app(tmp_path)
    secret_file = tmp_path / "instance" / "secret_key"
    assert secret_file.exists()
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert (
        first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == secret_file.read_text().strip()
    )
    assert len(first.config["SECRET_KEY"]) >= 64


def test_open_redirect_after_sign_in_is_refused(client, resident):
    response = client.post(
        "/sign-in?next=https://evil.example/",
        data={"phone": resident.phone, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "app_config", [{"SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True}]
)
def test_hsts_and_a_month_long_remember_me_with_secure_cookies(app, client, county):
    # (LMS_SECURE_COOKIES=1 sets these two: test_secure_cookies_when_configured)
    response = client.get("/sign-in")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert app.config["REMEMBER_COOKIE_DURATION"].days == 30


def test_no_hsts_over_plain_http(client, county):
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers


def test_the_county_sets_how_long_remember_me_lasts(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_REMEMBER_DAYS", "7")
    assert make_app(tmp_path).config["REMEMBER_COOKIE_DURATION"].days == 7


@pytest.mark.once
def test_instance_files_are_owner_only_whatever_the_umask(tmp_path):
    """A first start under umask 022 (schema, queue, search index, keys): the instance folder
    is 0700 and every file in it 0600."""
    instance = tmp_path / "instance"
    env = {
        **os.environ,
        "LMS_INSTANCE_DIR": str(instance),
        "LMS_MEDIA_DIR": str(tmp_path / "media"),
    }
    env.pop("LMS_DATABASE_URL", None)
    lms = str(Path(sys.executable).with_name("lms"))
    script = f"umask 022 && {lms} db upgrade && {lms} credits open-accounts && {lms} search reindex"
    subprocess.run(["bash", "-c", script], env=env, check=True, capture_output=True)  # noqa: S603,S607

    modes = {
        path.relative_to(instance).as_posix(): stat.S_IMODE(path.lstat().st_mode)
        for path in instance.rglob("*")
        if not path.is_symlink()
    }
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert "lms.sqlite3" in modes
    assert "queue.sqlite3" in modes
    assert any(name.startswith("search/") for name in modes)
    loose = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (instance / name).is_dir() else 0o600)
    }
    assert loose == {}


def test_the_retired_key_folder_comes_from_the_environment(tmp_path, monkeypatch):
    """The README's LMS_RETIRED_KEY_DIR is read (several machines share the folder)."""
    monkeypatch.setenv("LMS_RETIRED_KEY_DIR", str(tmp_path / "retired"))
    assert make_app(tmp_path).config["LMS_RETIRED_KEY_DIR"] == str(tmp_path / "retired")

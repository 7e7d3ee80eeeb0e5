"""Fixtures: a fresh database per test (a temporary SQLite file, or the PostgreSQL named by
LMS_TEST_DATABASE_URL, emptied after each test), and builders that go through operations."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from flask import g, request_started
from sqlalchemy import select, text

from lms import create_app
from lms.accounts import operations as accounts
from lms.accounts.models import Level, OrgUnit, Role, User
from lms.courses import operations as courses
from lms.courses.models import Category, Course
from lms.extensions import db
from tests.serving import serve

PASSWORD = "Qingshan#2026"
PG_URL = os.environ.get("LMS_TEST_DATABASE_URL")
_phones = itertools.count(1)


# .ci/run runs the two passes side by side and sets LMS_TEST_BALANCE=1: then these single-pass
# tests run in the PostgreSQL pass instead, so that both passes end at about the same time.
ONCE_ON_POSTGRESQL = ("tests/media/", "tests/browser/test_video.py")


def pytest_collection_modifyitems(config, items):
    """Tests marked `once` check what does not depend on the database (media processing,
    accessibility): they run in one pass only, the SQLite one unless balanced (above). So do the
    browser journeys: the operations and pages they go through are tested on PostgreSQL
    without a browser."""
    balance = os.environ.get("LMS_TEST_BALANCE") == "1"
    if not PG_URL and not balance:
        return
    for item in items:
        if not (item.get_closest_marker("once") or item.nodeid.startswith("tests/browser/")):
            continue
        on_postgresql = balance and item.nodeid.startswith(ONCE_ON_POSTGRESQL)
        if bool(PG_URL) != on_postgresql:
            other = "SQLite" if PG_URL else "PostgreSQL"
            reason = f"does not depend on the database: run in the {other} pass"
            item.add_marker(pytest.mark.skip(reason=reason))


def make_app(tmp_path: Path, **overrides):
    config = {
        "TESTING": True,
        "LMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": PG_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "LMS_MEDIA_DIR": str(tmp_path / "media"),
        "LMS_QUEUE_IMMEDIATE": True,
        "LMS_DEMO_MEDIA": False,  # the demo's covers, PDF and videos: tests/media/test_demo_media.py
        "WTF_CSRF_ENABLED": False,
        "LMS_ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the configuration."""
    return {}


@pytest.fixture
def app(tmp_path, app_config):
    app = make_app(tmp_path, **app_config)

    def fresh_g(sender, **extra):
        # The test keeps one application context open and every request reuses it; production
        # gives each request its own ``g`` (where Flask-Login caches the user), so do the same.
        g.__dict__.clear()

    request_started.connect(fresh_g, app)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        if PG_URL:
            tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def county(app) -> OrgUnit:
    """泸县 with two towns of two villages each."""
    county = accounts.create_org_unit(
        name="泸县", code="510521", level=Level.COUNTY, parent=None, population=1000
    )
    for t, town_name in enumerate(["福集镇", "嘉明镇"], start=1):
        town = accounts.create_org_unit(
            name=town_name, code=f"510521{t:03d}", level=Level.TOWN, parent=county, population=400
        )
        for v, village in enumerate(["一村", "二村"], start=1):
            accounts.create_org_unit(
                name=f"{town_name}{village}",
                code=f"{town.code}{v:03d}",
                level=Level.VILLAGE,
                parent=town,
                population=200,
            )
    db.session.commit()
    return county


def unit(name: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).filter_by(name=name))


def new_phone() -> str:
    return f"136{next(_phones):08d}"


@pytest.fixture
def create_user(county):
    def create(
        role: Role = Role.RESIDENT,
        unit_name: str = "福集镇一村",
        *,
        name: str = "测试用户",
        phone: str | None = None,
    ) -> User:
        roles = (Role.RESIDENT,) if role is Role.RESIDENT else (Role.RESIDENT, role)
        user = accounts.create_user(
            phone=phone or new_phone(),
            name=name,
            password=PASSWORD,
            org_unit=unit(unit_name),
            roles=roles,
        )
        db.session.commit()
        return user

    return create


@pytest.fixture
def resident(create_user) -> User:
    return create_user(name="王芳")


@pytest.fixture
def teacher(create_user) -> User:
    return create_user(Role.TEACHER, "福集镇", name="李老师")


@pytest.fixture
def registrar(create_user) -> User:
    """A county registrar (学分银行专员): certifies everywhere and keeps the rules."""
    return create_user(Role.REGISTRAR, "泸县", name="县专员")


@pytest.fixture
def town_registrar(create_user) -> User:
    return create_user(Role.REGISTRAR, "福集镇", name="福集专员")


@pytest.fixture
def categories(app) -> dict[str, Category]:
    made = {
        name: courses.create_category(name) for name in ["农村实用技术", "健康养生", "法制教育"]
    }
    db.session.commit()
    return made


@pytest.fixture
def create_course(teacher, categories):
    def create(
        title: str = "生猪科学养殖技术",
        *,
        category: str = "农村实用技术",
        hours=16,
        lessons: int = 2,
        publish: bool = True,
        by: User | None = None,
    ) -> Course:
        course = courses.create_course(
            by or teacher,
            title=title,
            summary="<p>简介</p>",
            category=categories[category],
            hours=hours,
        )
        for number in range(1, lessons + 1):
            courses.add_text_lesson(course, title=f"第{number}课", body=f"<p>内容{number}</p>")
        if publish:
            courses.publish_course(course)
        db.session.commit()
        return course

    return create


def sign_in(client, user: User, password: str = PASSWORD):
    response = client.post("/sign-in", data={"phone": user.phone, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def api_token(client, user: User, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json={"phone": user.phone, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def csrf_token(client, path: str = "/sign-in") -> str:
    """The CSRF token embedded in a page (for tests that keep CSRF protection on)."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def live_server(app):
    """The app served by a real threaded server on a free loopback port; its base URL."""
    url, stop = serve(app)
    yield url
    stop()

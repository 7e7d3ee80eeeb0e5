"""Fixtures and helpers of the course tests: the people who teach and administer, signed-in
clients and tokens, the course form and API body, and cover images."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from lms.accounts.models import Role, User
from lms.courses.models import Course
from lms.extensions import db
from tests.conftest import api_token, sign_in

# People and helpers ----------------------------------------------------------------------------


def _person(role: Role, unit_name: str, name: str):
    """A fixture that makes one more member of staff (besides tests/conftest.py's teacher)."""

    @pytest.fixture
    def person(create_user) -> User:
        return create_user(role, unit_name, name=name)

    return person


jiaming_teacher = _person(Role.TEACHER, "嘉明镇", "周老师")
other_teacher = _person(Role.TEACHER, "福集镇", "吴老师")
fuji_admin = _person(Role.ADMIN, "福集镇", "赵站长")
jiaming_admin = _person(Role.ADMIN, "嘉明镇", "钱站长")
county_admin = _person(Role.ADMIN, "泸县", "孙校长")


def token(app, user) -> dict[str, str]:
    return api_token(app.test_client(), user)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def page(response) -> str:
    return response.get_data(as_text=True)


def course_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Course))


def reload(course: Course) -> Course:
    db.session.expire_all()
    return db.session.get(Course, course.id)


def covers_dir(app) -> Path:
    return Path(app.config["LMS_MEDIA_DIR"]) / "covers"


def cover_files(app, *, copies: bool = False) -> list[Path]:
    """The full-size covers on disk (and their smaller copies with *copies*)."""
    folder = covers_dir(app)
    files = sorted(folder.iterdir()) if folder.exists() else []
    return files if copies else [path for path in files if "-" not in path.stem]


def png(size=(1200, 900), colour=(200, 120, 40)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, colour).save(data, "PNG")
    data.seek(0)
    return data


def assert_api_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def course_form(categories, **changes) -> dict:
    data = {
        "title": "柑橘病虫害防治",
        "category_id": str(categories["农村实用技术"].id),
        "hours": "8",
        "summary": "<p>病虫害的识别与防治。</p>",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def course_body(**changes) -> dict:
    data = {
        "title": "柑橘病虫害防治",
        "summary": "<p>病虫害的识别与防治。</p>",
        "category": "农村实用技术",
        "hours": 8,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def order_in_page(html: str, names) -> list[str]:
    """*names* in the order they appear in *html* (those present)."""
    present = [name for name in names if name in html]
    return sorted(present, key=html.index)

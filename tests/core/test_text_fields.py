"""Every public text field, fed whatever hypothesis can type (control characters, lone
surrogates, right-to-left marks, ten thousand characters): never a 500, and nothing stored
with a control character in it."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lms.accounts.models import User
from lms.core.text import has_control_characters
from lms.courses.models import Category, Course, Lesson
from lms.credits.models import LearningOutcome
from lms.extensions import db
from tests.conftest import api_token, new_phone, sign_in, unit
from tests.credits.conftest import png_bytes, yesterday

ANYTHING = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()),  # surrogates and controls too
    max_size=60,
)
TYPED = st.one_of(
    ANYTHING,
    st.sampled_from(["\u202e养猪", "a\x00b", "\u200f讲座", "x" * 10_000, "  ", "&lt;b&gt;", ""]),
)
FORM_SAFE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def stored_texts(model, *columns) -> list[str]:
    db.session.expire_all()
    rows = db.session.execute(select(*(getattr(model, c) for c in columns))).all()
    return [value for row in rows for value in row if isinstance(value, str)]


def assert_clean(texts: list[str]) -> None:
    assert not [text for text in texts if has_control_characters(text)]


@HYPOTHESIS
@given(name=TYPED)
def test_sign_up_name_through_the_api(client, county, name):
    response = client.post(
        "/api/v1/residents",
        json={
            "phone": new_phone(),
            "name": name,
            "org_unit_id": unit("福集镇一村").id,
            "password": "Qingshan#2026",
        },
    )
    assert response.status_code < 500
    assert_clean(stored_texts(User, "name"))


@HYPOTHESIS
@given(title=TYPED, summary=TYPED)
def test_course_title_and_summary_through_the_api(client, teacher, categories, title, summary):
    headers = api_token(client, teacher)
    response = client.post(
        "/api/v1/courses",
        json={"title": title, "summary": summary, "category": "农村实用技术", "hours": 2},
        headers=headers,
    )
    assert response.status_code < 500
    assert_clean(stored_texts(Course, "title", "summary"))


@HYPOTHESIS
@given(title=TYPED, text=TYPED)
def test_text_lesson_through_the_api(client, teacher, create_course, title, text):
    course = db.session.scalar(select(Course)) or create_course(publish=False)
    response = client.post(
        f"/api/v1/courses/{course.id}/lessons",
        json={"title": title, "kind": "text", "body": text},
        headers=api_token(client, teacher),
    )
    assert response.status_code < 500
    assert_clean(stored_texts(Lesson, "title", "body"))


@HYPOTHESIS
@given(title=FORM_SAFE, issuer=FORM_SAFE)
def test_offline_outcome_multipart_fields(client, resident, title, issuer):
    response = client.post(
        "/api/v1/me/outcomes",
        data={
            "kind": "training",
            "title": title,
            "hours": "2",
            "occurred_on": yesterday().isoformat(),
            "issuer": issuer,
            "evidence": (io.BytesIO(png_bytes()), "证书.png"),
        },
        headers=api_token(client, resident),
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    assert_clean(stored_texts(LearningOutcome, "title", "issuer"))


@HYPOTHESIS
@given(name=FORM_SAFE)
def test_category_name_through_the_web_form(client, create_user, categories, name):
    from lms.accounts.models import Role

    admin = db.session.scalar(select(User).filter_by(name="县管理员")) or create_user(
        Role.ADMIN, "泸县", name="县管理员"
    )
    sign_in(client, admin)
    response = client.post("/admin/categories", data={"name": name})
    assert response.status_code < 500
    assert_clean(stored_texts(Category, "name"))

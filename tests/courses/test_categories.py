"""Course categories, kept by the county administrators."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.courses.models import Category
from lms.extensions import db
from tests.courses.conftest import (
    assert_api_error,
    course_body,
    page,
    signed_in,
    token,
)

# Categories --------------------------------------------------------------------------------------


def test_county_admin_adds_a_category(app, county_admin, categories):
    client = signed_in(app, county_admin)
    response = client.get("/admin/categories")
    assert response.status_code == 200
    assert all(name in page(response) for name in categories)

    response = client.post("/admin/categories", data={"name": " 数字素养 "})
    assert response.status_code == 302
    assert "分类已添加" in page(client.get("/admin/categories"))
    assert db.session.scalar(select(Category).filter_by(name="数字素养")) is not None


def test_a_duplicate_category_is_refused(app, county_admin, categories):
    client = signed_in(app, county_admin)
    before = db.session.scalar(select(func.count()).select_from(Category))
    response = client.post("/admin/categories", data={"name": "健康养生"})
    assert response.status_code in (409, 422)
    assert "已有同名分类" in page(response)
    assert db.session.scalar(select(func.count()).select_from(Category)) == before


def test_county_admin_renames_and_retires_a_category(app, county_admin, teacher, categories):
    client = signed_in(app, county_admin)
    category = categories["健康养生"]
    assert client.get(f"/admin/categories/{category.id}").status_code == 200

    response = client.post(
        f"/admin/categories/{category.id}", data={"name": "健康与养生", "active": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, category.id).name == "健康与养生"

    response = client.post(
        f"/admin/categories/{category.id}", data={"name": "法制教育", "active": "y"}
    )
    assert response.status_code in (409, 422)
    assert "已有同名分类" in page(response)
    db.session.expire_all()
    assert db.session.get(Category, category.id).name == "健康与养生"

    # retired: no longer offered to teachers, nor accepted by the API
    client.post(f"/admin/categories/{category.id}", data={"name": "健康与养生"})
    db.session.expire_all()
    assert db.session.get(Category, category.id).active is False
    assert "健康与养生" not in page(signed_in(app, teacher).get("/courses/new"))
    response = app.test_client().post(
        "/api/v1/courses", json=course_body(category="健康与养生"), headers=token(app, teacher)
    )
    assert "category" in assert_api_error(response, 422)["fields"]


def test_a_blank_category_name_is_refused(app, county_admin, categories):
    client = signed_in(app, county_admin)
    response = client.post("/admin/categories", data={"name": "<script></script>"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Category)) == 3


def test_only_the_county_admin_manages_categories(app, fuji_admin, teacher, resident, categories):
    category = categories["健康养生"]
    for user in (fuji_admin, teacher, resident):
        client = signed_in(app, user)
        assert client.get("/admin/categories").status_code == 403
        assert client.post("/admin/categories", data={"name": "新分类"}).status_code == 403
        assert (
            client.post(f"/admin/categories/{category.id}", data={"name": "改名"}).status_code
            == 403
        )
    db.session.expire_all()
    assert db.session.scalar(select(Category).filter_by(name="新分类")) is None
    assert db.session.get(Category, category.id).name == "健康养生"

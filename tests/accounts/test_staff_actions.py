"""Staff acting on people within their scope: 代注册, password reset, deactivation, corrections,
the people list's filters and the phone shown (law 8); sessions and tokens revoked."""

import re

import pytest
from sqlalchemy import select

from lms.accounts import staff
from lms.accounts.models import ApiToken, AuditEntry, Role, User
from lms.accounts.sealing import unseal
from lms.extensions import db
from tests.conftest import PASSWORD, api_token, sign_in, unit

ID_NUMBER = "11010519491231002X"  # the standard's own example


@pytest.fixture
def town_admin(create_user):
    return create_user(Role.ADMIN, "福集镇", name="刘镇管")


@pytest.fixture
def county_admin(create_user):
    return create_user(Role.ADMIN, "泸县", name="陈县管")


def one_time_password(html: str) -> str:
    return re.search(r'class="one-time-password">([a-z0-9]+)<', html).group(1)


def test_register_on_behalf_gives_a_slip_and_forces_a_new_password(client, town_admin):
    sign_in(client, town_admin)
    village = unit("福集镇二村")
    response = client.post(
        "/admin/people/new",
        data={
            "phone": "１３９ ００００ １２３４",
            "name": "张婆婆",
            "org_unit_id": village.id,
            "birth_year": "1949",
            "gender": "女",
            "id_number": ID_NUMBER,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    password = one_time_password(html)
    assert "13900001234" in html
    assert "登录凭条" in html
    user = db.session.scalar(select(User).filter_by(phone="13900001234"))
    assert user.must_change_password
    assert user.org_unit == village
    assert ID_NUMBER not in (user.id_number_sealed or "")
    assert user.id_number == ID_NUMBER
    assert user.masked_id_number == "110105********002X"
    assert unseal(user.gender_sealed) == "女"
    entry = db.session.scalar(select(AuditEntry).filter_by(action="person_registered"))
    assert entry.actor_id == town_admin.id
    assert entry.subject_user_id == user.id
    assert entry.address == "127.0.0.1"

    client.post("/sign-out", data={})
    resident = client.application.test_client()
    sign_in(resident, user, password)
    page = resident.get("/notices")
    assert page.status_code == 302
    assert page.headers["Location"].endswith("/account")
    api = resident.get("/api/v1/me/learning-file", headers={"Accept": "application/json"})
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "password_change_required"
    changed = resident.post(
        "/account", data={"current": password, "new": "Chunfeng#88", "confirm": "Chunfeng#88"}
    )
    assert changed.status_code == 302
    db.session.refresh(user)
    assert not user.must_change_password
    assert resident.get("/notices").status_code == 200


def test_a_village_outside_scope_is_refused_in_chinese(client, town_admin):
    sign_in(client, town_admin)
    response = client.post(
        "/admin/people/new",
        data={"phone": "13900001235", "name": "外镇人", "org_unit_id": unit("嘉明镇一村").id},
    )
    assert response.status_code == 403
    assert "不在您的管理范围内" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).filter_by(phone="13900001235")) is None


def test_reset_password_revokes_sessions_and_tokens(app, client, town_admin, resident):
    app.config["LMS_TOKEN_CACHE_S"] = 60
    own = app.test_client()
    sign_in(own, resident)
    headers = api_token(own, resident)
    assert own.get("/api/v1/me", headers=headers).status_code == 200  # now cached

    sign_in(client, town_admin)
    page = client.get(f"/admin/people/{resident.id}").get_data(as_text=True)
    assert resident.phone in page  # the administrator sees the whole number
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    response = client.post(f"/admin/people/{resident.id}/reset-password", data={})
    assert response.status_code == 200, token
    password = one_time_password(response.get_data(as_text=True))

    assert own.get("/api/v1/me", headers=headers).status_code == 401
    assert own.get("/account").status_code == 302  # signed out
    assert db.session.scalar(select(ApiToken).filter_by(user_id=resident.id)).revoked_at
    fresh = app.test_client()
    assert (
        fresh.post("/sign-in", data={"phone": resident.phone, "password": PASSWORD}).status_code
        == 422
    )
    sign_in(fresh, resident, password)
    entry = db.session.scalar(select(AuditEntry).filter_by(action="password_reset"))
    assert entry.subject_user_id == resident.id
    assert "password" not in str(entry.detail)


def test_staff_act_only_within_their_scope(client, town_admin, create_user):
    other_town = create_user(unit_name="嘉明镇一村", name="嘉明居民")
    sign_in(client, town_admin)
    for path in ("reset-password", "deactivate"):
        assert client.post(f"/admin/people/{other_town.id}/{path}").status_code == 404
    headers = api_token(client, town_admin)
    response = client.post(f"/api/v1/people/{other_town.id}/password-reset", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "找不到该内容"


def test_nobody_acts_on_a_higher_admin_or_themselves(client, town_admin, county_admin):
    # The county administrator's home is in 泸县 (above the town): outside the town's scope.
    sign_in(client, town_admin)
    assert client.post(f"/admin/people/{county_admin.id}/deactivate").status_code == 404
    assert client.post(f"/admin/people/{town_admin.id}/deactivate").status_code == 403
    boss = county_admin
    with pytest.raises(staff.Forbidden):
        staff.reset_password(boss, boss)


def test_no_action_on_a_peer_admin_or_registrar_of_the_same_unit(
    client, town_admin, county_admin, create_user, town_registrar
):
    peer = create_user(Role.ADMIN, "福集镇", name="同镇管理员")
    sign_in(client, town_admin)
    headers = api_token(client, town_admin)
    for person in (peer, town_registrar):
        response = client.post(f"/admin/people/{person.id}/deactivate")
        assert response.status_code == 403
        assert "超出您管理范围的角色" in response.get_data(as_text=True)
        response = client.post(f"/api/v1/people/{person.id}/password-reset", headers=headers)
        assert response.status_code == 403
        assert "超出您管理范围的角色" in response.get_json()["error"]["message"]
        db.session.refresh(person)
        assert person.active
    # The county administrator acts on both; not on a registrar at the county itself.
    staff.set_active(county_admin, peer, False)
    staff.reset_password(county_admin, town_registrar)
    county_registrar = create_user(Role.REGISTRAR, "泸县", name="县专员")
    with pytest.raises(staff.Forbidden):
        staff.reset_password(county_admin, county_registrar)


def test_deactivation_ends_sessions_and_keeps_everything(app, client, county_admin, town_admin):
    app.config["LMS_TOKEN_CACHE_S"] = 60
    other = app.test_client()
    sign_in(other, town_admin)
    headers = api_token(other, town_admin)
    assert other.get("/api/v1/me", headers=headers).status_code == 200

    sign_in(client, county_admin)
    assert client.post(f"/admin/people/{town_admin.id}/deactivate").status_code == 302
    assert other.get("/admin/people").status_code == 302  # the old session is gone
    assert other.get("/api/v1/me", headers=headers).status_code == 401
    assert (
        other.post("/sign-in", data={"phone": town_admin.phone, "password": PASSWORD}).status_code
        == 422
    )
    db.session.refresh(town_admin)
    assert not town_admin.active
    assert town_admin.grants

    assert client.post(f"/admin/people/{town_admin.id}/reactivate").status_code == 302
    sign_in(app.test_client(), town_admin)
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["person_deactivated", "person_reactivated"]


def test_correcting_details_via_the_api(client, town_admin, resident):
    headers = api_token(client, town_admin)
    body = {
        "name": "王芳芳",
        "org_unit_id": unit("福集镇二村").id,
        "birth_year": 1950,
        "gender": "女",
        "id_number": "110105194912310021",  # wrong check digit
    }
    response = client.patch(f"/api/v1/people/{resident.id}", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["id_number"] == ["身份证号校验位不正确，请核对"]
    body["id_number"] = ID_NUMBER
    response = client.patch(f"/api/v1/people/{resident.id}", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    out = response.get_json()
    assert out["name"] == "王芳芳"
    assert out["id_number"] == "110105********002X"
    assert out["phone"] == resident.phone
    body["org_unit_id"] = unit("嘉明镇一村").id
    response = client.patch(f"/api/v1/people/{resident.id}", json=body, headers=headers)
    assert response.status_code == 403
    db.session.refresh(resident)
    assert resident.org_unit == unit("福集镇二村")
    assert [g.org_unit.name for g in resident.grants] == ["福集镇二村"]


def test_api_correction_keeps_the_fields_left_out(client, town_admin, resident):
    headers = api_token(client, town_admin)
    path = f"/api/v1/people/{resident.id}"
    body = {"name": "王芳", "org_unit_id": resident.org_unit_id}
    full = {**body, "birth_year": 1950, "gender": "女", "id_number": ID_NUMBER}
    assert client.patch(path, json=full, headers=headers).status_code == 200
    response = client.patch(path, json={**body, "name": "王芳芳"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    masked = {**body, "id_number": "110105********002X"}  # as the API shows it: keep
    assert client.patch(path, json=masked, headers=headers).status_code == 200
    db.session.refresh(resident)
    assert resident.name == "王芳"
    assert (resident.birth_year, resident.gender, resident.id_number) == (1950, "女", ID_NUMBER)
    entry = db.session.scalars(select(AuditEntry).filter_by(action="person_updated")).first()
    assert entry.detail["changes"]["gender"] is True
    assert "女" not in str(entry.detail)
    cleared = {**body, "gender": None, "birth_year": None}  # sent as null: cleared
    assert client.patch(path, json=cleared, headers=headers).status_code == 200
    db.session.refresh(resident)
    assert (resident.birth_year, resident.gender, resident.id_number) == (None, None, ID_NUMBER)


def test_people_list_filters_and_phone_masking(client, town_admin, create_user, teacher):
    old = create_user(name="老人甲")
    old.birth_year = 1950
    young = create_user(unit_name="福集镇二村", name="年轻乙")
    young.birth_year = 2000
    young.active = False
    db.session.commit()
    sign_in(client, town_admin)
    page = client.get("/admin/people?age=60plus").get_data(as_text=True)
    assert "老人甲" in page
    assert "年轻乙" not in page
    assert old.phone in page
    page = client.get(f"/admin/people?unit={unit('福集镇二村').id}&active=0").get_data(as_text=True)
    assert "年轻乙" in page
    assert "老人甲" not in page
    page = client.get("/admin/people?role=teacher").get_data(as_text=True)
    assert "李老师" in page
    assert "老人甲" not in page
    headers = api_token(client, teacher)
    assert client.get("/api/v1/people", headers=headers).status_code == 403
    headers = api_token(client, town_admin)
    out = client.get("/api/v1/people?age=60plus", headers=headers).get_json()
    assert [p["name"] for p in out["items"]] == ["老人甲"]
    assert out["items"][0]["phone"] == old.phone


def test_ids_beyond_the_range_are_refused_not_a_500(client, town_admin, resident):
    sign_in(client, town_admin)
    huge = "99999999999999999999"
    assert client.get(f"/admin/people?unit={huge}").status_code == 200
    headers = api_token(client, town_admin)
    assert client.get(f"/api/v1/people?unit={huge}", headers=headers).status_code in (200, 422)
    data = {"phone": "13900001236", "name": "张婆婆", "org_unit_id": huge}
    response = client.post("/admin/people/new", data=data)
    assert response.status_code == 422
    assert "请选择具体的村（社区）" in response.get_data(as_text=True)
    data = {"name": "王芳", "org_unit_id": huge}
    response = client.post(f"/admin/people/{resident.id}/details", data=data)
    assert response.status_code == 422
    db.session.refresh(resident)
    assert resident.org_unit == unit("福集镇一村")

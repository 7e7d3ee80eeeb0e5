"""Administrators manage people, roles and the org tree of their own subtree only; the
``lms accounts create`` command creates accounts from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Level, OrgUnit, Role, RoleGrant, User
from lms.cli import main as lms_command
from lms.extensions import db
from tests.conftest import PASSWORD, api_token, new_phone, sign_in, unit


@pytest.fixture
def town_admin(create_user) -> User:
    return create_user(Role.ADMIN, "福集镇", name="赵站长")


@pytest.fixture
def people(create_user) -> dict[str, User]:
    return {
        "福集甲": create_user(name="福集甲", unit_name="福集镇一村"),
        "福集乙": create_user(name="福集乙", unit_name="福集镇二村"),
        "嘉明丙": create_user(name="嘉明丙", unit_name="嘉明镇一村"),
    }


@pytest.fixture
def admin_client(client, town_admin):
    sign_in(client, town_admin)
    return client


def page(response) -> str:
    return response.get_data(as_text=True)


def grants_of(user: User) -> set[tuple[str, str]]:
    db.session.expire_all()
    return {
        (grant.role.value, grant.org_unit.name)
        for grant in db.session.scalars(select(RoleGrant).filter_by(user_id=user.id))
    }


def grant(user: User, role: Role, unit_name: str) -> RoleGrant:
    return db.session.scalar(
        select(RoleGrant).filter_by(user_id=user.id, role=role, org_unit_id=unit(unit_name).id)
    )


def unit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OrgUnit))


# People ---------------------------------------------------------------------------------------


def test_town_admin_sees_the_people_of_their_town_only(admin_client, people):
    response = admin_client.get("/admin/people")

    assert response.status_code == 200
    html = page(response)
    assert "福集甲" in html
    assert "福集乙" in html
    assert "赵站长" in html
    assert "嘉明丙" not in html
    assert "共 3 人" in html


def test_people_can_be_searched_by_name_and_phone(admin_client, people):
    html = page(admin_client.get("/admin/people", query_string={"q": "乙"}))
    assert "福集乙" in html
    assert "福集甲" not in html

    html = page(admin_client.get("/admin/people", query_string={"q": people["福集甲"].phone}))
    assert "福集甲" in html
    assert "福集乙" not in html

    # another town's people are not found by searching either
    html = page(admin_client.get("/admin/people", query_string={"q": "嘉明"}))
    assert "嘉明丙" not in html
    html = page(admin_client.get("/admin/people", query_string={"q": "%"}))
    assert "福集甲" not in html


@pytest.mark.parametrize("page_number", ["0", "-3", "abc", "99999999999999999999999"])
def test_people_list_survives_odd_page_numbers(admin_client, people, page_number):
    assert admin_client.get("/admin/people", query_string={"page": page_number}).status_code == 200


def test_county_admin_sees_everyone(client, create_user, people):
    sign_in(client, create_user(Role.ADMIN, "泸县", name="钱校长"))
    html = page(client.get("/admin/people"))
    assert all(name in html for name in people)


def test_town_admin_opens_a_person_of_their_town(admin_client, people):
    response = admin_client.get(f"/admin/people/{people['福集甲'].id}")
    assert response.status_code == 200
    html = page(response)
    assert "福集甲" in html
    assert "福集镇一村" in html
    # only units of the admin's own town are offered
    assert "福集镇二村" in html
    assert "嘉明镇" not in html


def test_a_person_of_another_town_is_not_found(admin_client, people):
    target = people["嘉明丙"]
    assert admin_client.get(f"/admin/people/{target.id}").status_code == 404
    response = admin_client.post(
        f"/admin/people/{target.id}",
        data={"role": "teacher", "org_unit_id": unit("福集镇一村").id},
    )
    assert response.status_code == 404
    assert grants_of(target) == {("resident", "嘉明镇一村")}


def test_an_unknown_person_is_not_found(admin_client, people):
    assert admin_client.get("/admin/people/999999").status_code == 404
    assert admin_client.get("/admin/people/99999999999999999999").status_code == 404


def test_town_admin_grants_teacher_over_a_village(admin_client, town_admin, people):
    target = people["福集甲"]
    response = admin_client.post(
        f"/admin/people/{target.id}",
        data={"role": "teacher", "org_unit_id": unit("福集镇一村").id},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/people/{target.id}"
    assert grants_of(target) == {("resident", "福集镇一村"), ("teacher", "福集镇一村")}
    assert grant(target, Role.TEACHER, "福集镇一村").granted_by_id == town_admin.id
    assert "已授予 福集甲 教师 角色" in page(admin_client.get(response.headers["Location"]))


def test_a_granted_teacher_can_create_courses(admin_client, people, categories, app):
    target = people["福集甲"]
    admin_client.post(
        f"/admin/people/{target.id}",
        data={"role": "teacher", "org_unit_id": unit("福集镇一村").id},
    )
    created = app.test_client().post(
        "/api/v1/courses",
        json={"title": "村里的课", "category": "健康养生", "hours": 2},
        headers=api_token(app.test_client(), target),
    )
    assert created.status_code == 201
    assert created.get_json()["provider"]["name"] == "福集镇一村"


def test_granting_twice_keeps_one_grant(admin_client, people):
    target = people["福集乙"]
    for _ in range(2):
        response = admin_client.post(
            f"/admin/people/{target.id}",
            data={"role": "admin", "org_unit_id": unit("福集镇二村").id},
        )
        assert response.status_code == 302
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(RoleGrant)
            .filter_by(user_id=target.id, role=Role.ADMIN)
        )
        == 1
    )


@pytest.mark.parametrize("outside", ["嘉明镇一村", "嘉明镇", "泸县"])
def test_town_admin_cannot_grant_outside_their_town(admin_client, people, outside):
    target = people["福集甲"]
    before = db.session.scalar(select(func.count()).select_from(RoleGrant))
    response = admin_client.post(
        f"/admin/people/{target.id}", data={"role": "admin", "org_unit_id": unit(outside).id}
    )

    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(RoleGrant)) == before
    assert grants_of(target) == {("resident", "福集镇一村")}


@pytest.mark.parametrize(
    "data",
    [{"role": "superuser"}, {"role": ""}, {"org_unit_id": "999999"}, {"org_unit_id": "abc"}],
)
def test_grant_form_refuses_nonsense(admin_client, people, data):
    target = people["福集甲"]
    form = {"role": "teacher", "org_unit_id": str(unit("福集镇一村").id)}
    form.update(data)
    response = admin_client.post(f"/admin/people/{target.id}", data=form)
    assert response.status_code == 422
    assert grants_of(target) == {("resident", "福集镇一村")}


def test_town_admin_withdraws_a_grant_in_scope(admin_client, town_admin, people):
    target = people["福集甲"]
    admin_client.post(
        f"/admin/people/{target.id}",
        data={"role": "teacher", "org_unit_id": unit("福集镇一村").id},
    )
    teacher_grant = grant(target, Role.TEACHER, "福集镇一村")

    response = admin_client.post(f"/admin/grants/{teacher_grant.id}/withdraw")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/people/{target.id}"
    assert grants_of(target) == {("resident", "福集镇一村")}
    assert "已撤销授权" in page(admin_client.get(response.headers["Location"]))


def test_a_withdrawn_teacher_can_no_longer_create_courses(
    admin_client, create_user, categories, app
):
    target = create_user(Role.TEACHER, "福集镇二村", name="前教师")
    headers = api_token(app.test_client(), target)
    admin_client.post(f"/admin/grants/{grant(target, Role.TEACHER, '福集镇二村').id}/withdraw")
    response = app.test_client().post(
        "/api/v1/courses",
        json={"title": "不该开的课", "category": "健康养生", "hours": 2},
        headers=headers,
    )
    assert response.status_code == 403


def test_admin_cannot_withdraw_their_own_grant(admin_client, town_admin):
    own = grant(town_admin, Role.ADMIN, "福集镇")
    response = admin_client.post(f"/admin/grants/{own.id}/withdraw")

    assert response.status_code == 403
    assert "不能撤销这项授权" in page(response)
    assert ("admin", "福集镇") in grants_of(town_admin)
    # and the withdraw button is not offered on their own page
    assert f"/admin/grants/{own.id}/withdraw" not in page(
        admin_client.get(f"/admin/people/{town_admin.id}")
    )


def test_admin_cannot_withdraw_a_grant_outside_their_scope(admin_client, people, create_user):
    outsider = create_user(Role.TEACHER, "嘉明镇", name="嘉明老师")
    response = admin_client.post(
        f"/admin/grants/{grant(outsider, Role.TEACHER, '嘉明镇').id}/withdraw"
    )
    assert response.status_code == 404
    assert ("teacher", "嘉明镇") in grants_of(outsider)


def test_town_admin_cannot_withdraw_a_wider_grant_of_a_townsman(admin_client, create_user):
    # lives in 福集镇一村, but administers the whole county
    county_admin = create_user(Role.ADMIN, "泸县", name="钱校长")
    county_admin.org_unit = unit("福集镇一村")
    db.session.commit()
    wider = grant(county_admin, Role.ADMIN, "泸县")
    response = admin_client.post(f"/admin/grants/{wider.id}/withdraw")
    assert response.status_code == 403
    assert ("admin", "泸县") in grants_of(county_admin)


def test_withdrawing_an_unknown_grant_is_404(admin_client):
    assert admin_client.post("/admin/grants/999999/withdraw").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/admin/people", "/admin/units", "/admin/people/1", f"/admin/units/{1}"],
)
def test_residents_and_teachers_are_not_administrators(client, create_user, path):
    for role in (Role.RESIDENT, Role.TEACHER):
        user = create_user(role, "福集镇")
        sign_in(client, user)
        response = client.get(path)
        assert response.status_code == 403, (role, path)
        assert "没有权限" in page(response)
        client.post("/sign-out")


def test_residents_cannot_withdraw_grants(client, resident, town_admin):
    sign_in(client, resident)
    own = grant(town_admin, Role.ADMIN, "福集镇")
    assert client.post(f"/admin/grants/{own.id}/withdraw").status_code == 403
    assert ("admin", "福集镇") in grants_of(town_admin)


def test_anonymous_visitors_are_sent_to_sign_in(client, county):
    response = client.get("/admin/people")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_person_page_raises_no_warning(admin_client, people):
    assert admin_client.get(f"/admin/people/{people['福集甲'].id}").status_code == 200


# The org tree ---------------------------------------------------------------------------------


def test_units_page_lists_the_admins_subtree(admin_client):
    response = admin_client.get("/admin/units")
    assert response.status_code == 200
    html = page(response)
    assert "福集镇一村" in html
    assert "福集镇二村" in html
    assert "嘉明镇" not in html


@pytest.mark.parametrize("outside", ["嘉明镇", "嘉明镇一村", "泸县"])
def test_units_outside_the_scope_are_not_found(admin_client, outside):
    target = unit(outside)
    assert admin_client.get(f"/admin/units/{target.id}").status_code == 404
    response = admin_client.post(
        f"/admin/units/{target.id}", data={"name": "改名", "population": "1"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert unit(outside) is not None


def test_unknown_unit_is_not_found(admin_client):
    assert admin_client.get("/admin/units/999999").status_code == 404


def test_town_admin_edits_a_village(admin_client):
    village = unit("福集镇一村")
    assert admin_client.get(f"/admin/units/{village.id}").status_code == 200
    response = admin_client.post(
        f"/admin/units/{village.id}", data={"name": "  福集镇 新一村 ", "population": "321"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    village = db.session.get(OrgUnit, village.id)
    assert (village.name, village.population) == ("福集镇 新一村", 321)
    assert "已保存" in page(admin_client.get(f"/admin/units/{village.id}"))


def test_town_admin_edits_their_own_town(admin_client):
    town = unit("福集镇")
    response = admin_client.post(
        f"/admin/units/{town.id}", data={"name": "福集镇", "population": "86000"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OrgUnit, town.id).population == 86000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "福集镇一村", "population": "-5"}, "人口数不合理"),
        ({"name": "福集镇一村", "population": ""}, "请填写人口数"),
        ({"name": "福集镇一村", "population": "很多"}, ""),
        ({"name": "", "population": "100"}, "请填写名称"),
        ({"name": "福集镇二村", "population": "100"}, "同一上级下已有同名单位"),
    ],
)
def test_bad_unit_edits_are_refused(admin_client, data, message):
    village = unit("福集镇一村")
    response = admin_client.post(f"/admin/units/{village.id}", data=data)

    assert response.status_code == 422
    assert message in page(response)
    db.session.expire_all()
    village = db.session.get(OrgUnit, village.id)
    assert (village.name, village.population) == ("福集镇一村", 200)


def test_town_admin_adds_a_village(admin_client, client):
    town = unit("福集镇")
    response = admin_client.post(
        f"/admin/units/{town.id}",
        data={"action": "child", "child-name": "福集镇三村", "child-population": "150"},
    )

    assert response.status_code == 302
    assert "已添加下级单位" in page(admin_client.get(response.headers["Location"]))
    village = unit("福集镇三村")
    assert village.parent_id == town.id
    assert village.level is Level.VILLAGE
    assert village.population == 150
    assert village.code == "510521001003"
    assert village.path == f"{town.path}{village.id}/"
    # residents can now sign up there, and the API tree shows it
    tree = admin_client.application.test_client().get("/api/v1/org-units").get_json()
    towns = {town_node["name"]: town_node for town_node in tree["children"]}
    assert [v["name"] for v in towns["福集镇"]["children"]][-1] == "福集镇三村"
    assert "福集镇三村" in page(admin_client.application.test_client().get("/sign-up"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"child-name": "福集镇四村", "child-population": "-1"}, "人口数不合理"),
        ({"child-name": "", "child-population": "10"}, "请填写名称"),
        ({"child-name": "福集镇一村", "child-population": "10"}, "同一上级下已有同名单位"),
    ],
)
def test_bad_new_villages_are_refused(admin_client, data, message):
    before = unit_count()
    response = admin_client.post(
        f"/admin/units/{unit('福集镇').id}", data={"action": "child", **data}
    )
    assert response.status_code == 422
    assert message in page(response)
    assert unit_count() == before


def test_a_village_has_no_children(admin_client):
    before = unit_count()
    response = admin_client.post(
        f"/admin/units/{unit('福集镇一村').id}",
        data={"action": "child", "child-name": "一组", "child-population": "10"},
    )
    assert response.status_code == 400
    assert unit_count() == before


def test_town_admin_cannot_add_a_town(admin_client):
    before = unit_count()
    response = admin_client.post(
        f"/admin/units/{unit('泸县').id}",
        data={"action": "child", "child-name": "新镇", "child-population": "10"},
    )
    assert response.status_code == 404
    assert unit_count() == before


def test_county_admin_adds_a_town(client, create_user):
    sign_in(client, create_user(Role.ADMIN, "泸县"))
    response = client.post(
        f"/admin/units/{unit('泸县').id}",
        data={"action": "child", "child-name": "喻寺镇", "child-population": "47000"},
    )
    assert response.status_code == 302
    assert unit("喻寺镇").level is Level.TOWN
    assert unit("喻寺镇").code == "510521003"


# lms accounts create ---------------------------------------------------------------------------


def run_command(app, *args: str, password: str | None = PASSWORD):
    runner = app.test_cli_runner()
    return runner.invoke(
        lms_command,
        ["accounts", "create", *args],
        input=None if password is None else password + "\n",
    )


def test_command_creates_a_teacher_with_a_grant(app, county):
    phone = new_phone()
    result = run_command(
        app,
        "--phone",
        phone,
        "--name",
        "孙老师",
        "--role",
        "teacher",
        "--unit",
        "福集镇",
        "--password-stdin",
    )

    assert result.exit_code == 0, result.output
    assert "created teacher" in result.output
    user = db.session.scalar(select(User).filter_by(phone=phone))
    assert user.name == "孙老师"
    assert user.org_unit.name == "福集镇"
    assert grants_of(user) == {("resident", "福集镇"), ("teacher", "福集镇")}
    assert PASSWORD not in result.output
    # the account works
    assert (
        app.test_client()
        .post("/api/v1/auth/tokens", json={"phone": phone, "password": PASSWORD})
        .status_code
        == 201
    )


def test_command_finds_the_unit_by_code(app, county):
    phone = new_phone()
    result = run_command(
        app,
        "--phone",
        phone,
        "--name",
        "周管理员",
        "--role",
        "admin",
        "--unit",
        "510521002",
        "--password-stdin",
    )
    assert result.exit_code == 0, result.output
    assert ("admin", "嘉明镇") in grants_of(db.session.scalar(select(User).filter_by(phone=phone)))


def test_command_without_unit_means_the_county(app, county):
    phone = new_phone()
    result = run_command(
        app, "--phone", phone, "--name", "县管理员", "--role", "admin", "--password-stdin"
    )
    assert result.exit_code == 0, result.output
    assert ("admin", "泸县") in grants_of(db.session.scalar(select(User).filter_by(phone=phone)))


def test_command_grants_a_role_to_an_existing_account(app, resident):
    result = run_command(
        app,
        "--phone",
        resident.phone,
        "--name",
        "王芳",
        "--role",
        "registrar",
        "--unit",
        "福集镇",
        "--password-stdin",
    )
    assert result.exit_code == 0, result.output
    assert ("registrar", "福集镇") in grants_of(resident)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--phone", "12345"], PASSWORD, "手机号格式不正确"),
        (["--unit", "不存在镇"], PASSWORD, "不存在镇"),
        ([], "12345678", "这个密码太常见"),
        ([], "short", "密码至少需要"),
        (["--name", "<b>坏人</b>"], PASSWORD, "姓名不能包含特殊符号"),
        (["--role", "king"], PASSWORD, "king"),
    ],
    ids=["bad-phone", "unknown-unit", "common-password", "short-password", "bad-name", "bad-role"],
)
def test_command_refuses_bad_input_with_a_message(app, county, args, password, message):
    options = {"--phone": new_phone(), "--name": "吴老师", "--role": "teacher", "--unit": "福集镇"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        options[flag] = value
    flat = [item for pair in options.items() for item in pair]
    result = run_command(app, *flat, "--password-stdin", password=password)

    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0

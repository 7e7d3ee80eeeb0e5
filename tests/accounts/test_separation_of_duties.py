"""Nobody grants or withdraws a role on themselves; only a county administrator grants the
registrar role; every role change is audited with who did it and from where."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.accounts import operations
from lms.accounts.models import AuditEntry, Role, RoleGrant, User
from lms.core.errors import Forbidden
from lms.extensions import db
from tests.conftest import sign_in, unit


def grants_of(user: User) -> set[tuple[str, str]]:
    db.session.expire_all()
    return {
        (grant.role.value, grant.org_unit.name)
        for grant in db.session.scalars(select(RoleGrant).filter_by(user_id=user.id))
    }


def audit_trail() -> list[tuple[str | None, str, str | None, dict]]:
    return [
        (
            entry.actor.name if entry.actor else None,
            entry.action,
            entry.subject_user.name,
            entry.detail,
        )
        for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]


@pytest.fixture
def town_admin(create_user) -> User:
    return create_user(Role.ADMIN, "福集镇", name="赵站长")


@pytest.fixture
def county_admin(create_user) -> User:
    return create_user(Role.ADMIN, "泸县", name="陈县管")


@pytest.mark.parametrize("role", ["registrar", "teacher", "admin"])
def test_a_town_admin_cannot_grant_himself_a_role(client, town_admin, role):
    sign_in(client, town_admin)
    response = client.post(
        f"/admin/people/{town_admin.id}", data={"role": role, "org_unit_id": unit("福集镇").id}
    )
    assert response.status_code in (403, 422)
    assert "不能给自己授予角色" in response.get_data(as_text=True)
    assert grants_of(town_admin) == {("resident", "福集镇"), ("admin", "福集镇")}
    assert audit_trail() == []


def test_a_county_admin_cannot_grant_himself_a_role_either(county_admin):
    with pytest.raises(Forbidden):
        operations.grant_role(county_admin, county_admin, Role.REGISTRAR, unit("泸县"))


def test_the_page_offers_no_grant_form_on_ones_own_page(client, town_admin):
    sign_in(client, town_admin)
    page = client.get(f"/admin/people/{town_admin.id}").get_data(as_text=True)
    assert "不能给自己授予角色" in page
    assert 'name="role"' not in page


def test_only_a_county_admin_grants_the_registrar_role(client, town_admin, create_user):
    target = create_user(name="福集甲", unit_name="福集镇一村")
    sign_in(client, town_admin)
    response = client.post(
        f"/admin/people/{target.id}", data={"role": "registrar", "org_unit_id": unit("福集镇").id}
    )
    assert response.status_code in (403, 422)
    assert "只有县级管理员可以授予学分银行专员角色" in response.get_data(as_text=True)
    assert ("registrar", "福集镇") not in grants_of(target)


def test_a_county_admin_grants_the_registrar_role_and_it_is_audited(
    client, county_admin, create_user
):
    target = create_user(name="福集甲", unit_name="福集镇一村")
    sign_in(client, county_admin)
    response = client.post(
        f"/admin/people/{target.id}", data={"role": "registrar", "org_unit_id": unit("福集镇").id}
    )
    assert response.status_code == 302
    assert ("registrar", "福集镇") in grants_of(target)
    [(actor, action, subject, detail)] = audit_trail()
    assert (actor, action, subject) == ("陈县管", "role_granted", "福集甲")
    assert detail == {"role": "registrar", "unit": unit("福集镇").code}
    entry = db.session.scalar(select(AuditEntry))
    assert entry.address == "127.0.0.1"


def test_withdrawing_is_audited_too(client, town_admin, create_user):
    target = create_user(Role.TEACHER, "福集镇一村", name="李老师")
    grant = db.session.scalar(select(RoleGrant).filter_by(user_id=target.id, role=Role.TEACHER))
    sign_in(client, town_admin)
    assert client.post(f"/admin/grants/{grant.id}/withdraw").status_code == 302
    assert ("teacher", "福集镇一村") not in grants_of(target)
    [(actor, action, subject, detail)] = audit_trail()
    assert (actor, action, subject) == ("赵站长", "role_withdrawn", "李老师")
    assert detail["role"] == "teacher"


def test_nobody_withdraws_their_own_grant_even_through_the_operation(town_admin):
    own = db.session.scalar(select(RoleGrant).filter_by(user_id=town_admin.id, role=Role.ADMIN))
    with pytest.raises(Forbidden):
        operations.withdraw_grant(town_admin, own)
    assert ("admin", "福集镇") in grants_of(town_admin)


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.TEACHER, Role.REGISTRAR])
def test_people_who_are_not_admins_cannot_grant_at_all(client, create_user, role):
    actor = create_user(role, "福集镇", name="某人")
    target = create_user(name="福集甲", unit_name="福集镇一村")
    sign_in(client, actor)
    response = client.post(
        f"/admin/people/{target.id}", data={"role": "teacher", "org_unit_id": unit("福集镇").id}
    )
    assert response.status_code in (403, 404)
    assert grants_of(target) == {("resident", "福集镇一村")}

"""The audit log: county administrators read, filter and export it; nobody else does."""

import csv
import io

from lms.accounts import staff
from lms.accounts.models import Role
from lms.extensions import db
from tests.conftest import api_token, sign_in, unit


def test_county_admins_read_filter_and_export_the_log(client, create_user):
    county_admin = create_user(Role.ADMIN, "泸县", name="陈县管")
    town_admin = create_user(Role.ADMIN, "福集镇", name="刘镇管")
    resident = create_user(name="=HYPERLINK(1)")
    staff.reset_password(town_admin, resident)
    staff.set_active(town_admin, resident, False)
    db.session.commit()

    sign_in(client, town_admin)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    client.post("/sign-out")

    sign_in(client, county_admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<td>重置密码</td>" in page
    assert "<td>停用账号</td>" in page
    page = client.get("/admin/audit?action=password_reset").get_data(as_text=True)
    assert "<td>重置密码</td>" in page
    assert "<td>停用账号</td>" not in page

    export = client.get("/admin/audit.csv?who=刘镇管")
    rows = list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["时间", "操作人", "操作人手机号", "操作"]
    assert {row[3] for row in rows[1:]} == {"重置密码", "停用账号"}
    assert {row[4] for row in rows[1:]} == {"'=HYPERLINK(1)"}  # neutralised
    assert client.get("/admin/audit.xlsx").status_code == 200
    assert client.get("/admin/audit.pdf").status_code == 404

    headers = api_token(client, county_admin)
    out = client.get("/api/v1/admin/audit?action=person_deactivated", headers=headers).get_json()
    assert out["total"] == 1
    assert out["items"][0]["actor"]["name"] == "刘镇管"
    assert out["items"][0]["subject"]["id"] == resident.id
    town_headers = api_token(client, town_admin)
    assert client.get("/api/v1/admin/audit", headers=town_headers).status_code == 403
    assert unit("泸县").parent_id is None


def test_dates_far_out_are_clamped_not_a_500(client, create_user):
    county_admin = create_user(Role.ADMIN, "泸县", name="陈县管")
    resident = create_user(name="王芳")
    staff.reset_password(county_admin, resident)
    db.session.commit()
    sign_in(client, county_admin)
    dates = "since=0001-01-01&until=9999-12-31"
    for path in ("/admin/audit", "/admin/audit.csv", "/admin/audit.xlsx"):
        assert client.get(f"{path}?{dates}").status_code == 200, path
    assert "<td>重置密码</td>" in client.get(f"/admin/audit?{dates}").get_data(as_text=True)
    headers = api_token(client, county_admin)
    response = client.get(f"/api/v1/admin/audit?{dates}", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["total"] == 1
    response = client.get("/api/v1/admin/audit?since=9999-12-31", headers=headers)
    assert response.get_json()["total"] == 0

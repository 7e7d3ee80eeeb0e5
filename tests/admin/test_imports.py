"""Bulk import of residents: the dry run's problems by row and column, the import, re-import
idempotence, updates, GBK CSV, the job with its progress, and hostile files."""

import io
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from lms.accounts.models import AuditEntry, Role, User
from lms.admin import imports
from lms.admin.imports import ImportStatus, ResidentImport
from lms.admin.views import imports as import_views
from lms.extensions import db
from tests.conftest import sign_in

HEADERS = ["姓名", "手机号", "村(社区)", "出生年份", "性别", "身份证号"]
GOOD_ID = "11010519491231002X"


@pytest.fixture
def town_admin(create_user):
    return create_user(Role.ADMIN, "福集镇", name="刘镇管")


def xlsx(rows, headers=HEADERS, *, prepare=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    if prepare:
        prepare(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name: str = "名单.xlsx"):
    # Encoded here in memory: the test client spools bodies over 500 kB to a temporary file
    # that it never closes (a ResourceWarning).
    part = FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")
    boundary, body = encode_multipart({"file": part})
    return client.post(
        "/admin/imports", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def latest() -> ResidentImport:
    return db.session.scalar(select(ResidentImport).order_by(ResidentImport.id.desc()))


def people() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


ROLL = [
    ["张大爷", "１３８ ０００１ ００１１", "福集镇一村", 1948, "男", ""],
    ["李婆婆", "+86 138 0001 0012", "510521001002", "1949", "女", GOOD_ID],
    ["王重复", "13800010011", "福集镇一村", 1960, "", ""],  # duplicate of row 2
    ["赵无村", "13800010013", "不存在村", 1970, "", ""],
    ["钱外镇", "13800010014", "嘉明镇一村", 1970, "", ""],
    ["孙年份", "13800010015", "福集镇二村", 1800, "", ""],
    ["周身份", "13800010016", "福集镇二村", 1949, "", "110105194912310021"],
    ["吴电话", "12345", "福集镇二村", 1949, "", ""],
]


def test_dry_run_lists_every_problem_then_imports_the_good_rows(client, town_admin):
    sign_in(client, town_admin)
    before = people()
    response = upload(client, xlsx(ROLL))
    assert response.status_code == 302
    batch = latest()
    assert people() == before  # a dry run imports nothing
    assert (batch.total_rows, batch.good_rows, batch.to_create) == (8, 2, 2), batch.problems
    problems = {(row, column): message for row, column, message in batch.problems}
    assert problems[(4, "手机号")] == "手机号与第 2 行重复"
    assert "找不到" in problems[(5, "村(社区)")]
    assert problems[(6, "村(社区)")] == "该村（社区）不在您的管理范围内"
    assert "出生年份应在" in problems[(7, "出生年份")]
    assert problems[(8, "身份证号")] == "身份证号校验位不正确，请核对"
    assert "手机号格式不正确" in problems[(9, "手机号")]
    page = client.get(f"/admin/imports/{batch.id}").get_data(as_text=True)
    assert "第 6 行" in page
    assert "该村（社区）不在您的管理范围内" in page

    assert client.post(f"/admin/imports/{batch.id}/run").status_code == 302
    db.session.refresh(batch)
    assert batch.status is ImportStatus.DONE
    assert (batch.created, batch.updated) == (2, 0)
    grandma = db.session.scalar(select(User).filter_by(phone="13800010012"))
    assert grandma.must_change_password
    assert grandma.id_number == GOOD_ID
    assert grandma.gender == "女"
    assert grandma.org_unit.name == "福集镇二村"
    assert grandma.roles == {Role.RESIDENT}
    slips = client.get(f"/admin/imports/{batch.id}/slips")
    passwords = re.findall(r'class="one-time-password">([a-z0-9]+)<', slips.get_data(as_text=True))
    assert len(passwords) == 2
    assert client.post("/sign-out").status_code in (302, 400)
    resident = client.application.test_client()
    sign_in(resident, grandma, passwords[1])
    audited = db.session.scalars(select(AuditEntry.action)).all()
    assert audited.count("person_imported") == 2
    assert "residents_imported" in audited

    problems_csv = client.get(f"/admin/imports/{batch.id}/problems.csv")
    assert problems_csv.status_code == 302  # signed out


def test_reimporting_changes_nothing_and_a_changed_row_updates(client, town_admin):
    sign_in(client, town_admin)
    roll = [["张大爷", "13800010011", "福集镇一村", 1948, "男", ""]]
    upload(client, xlsx(roll))
    client.post(f"/admin/imports/{latest().id}/run")
    user = db.session.scalar(select(User).filter_by(phone="13800010011"))
    hash_before, entries = user.password_hash, db.session.scalar(select(func.count(AuditEntry.id)))

    upload(client, xlsx(roll))
    again = latest()
    assert (again.unchanged, again.to_create, again.to_update) == (1, 0, 0)
    page = client.get(f"/admin/imports/{again.id}").get_data(as_text=True)
    assert "没有需要导入的新内容" in page

    roll[0][2] = "福集镇二村"
    upload(client, xlsx(roll))
    changed = latest()
    assert changed.to_update == 1
    client.post(f"/admin/imports/{changed.id}/run")
    db.session.refresh(user)
    assert user.org_unit.name == "福集镇二村"
    assert user.password_hash == hash_before  # an update never touches the password
    assert db.session.scalar(select(func.count(AuditEntry.id))) == entries + 2


def test_gbk_csv_and_headers_in_another_order_with_spaces(client, town_admin):
    sign_in(client, town_admin)
    text = " 手机号 ,姓 名,村（社区）\r\n13800020001,陈大娘,福集镇一村\r\n"
    response = upload(client, text.encode("gbk"), "名单.csv")
    assert response.status_code == 302
    assert latest().to_create == 1
    bom = "\ufeff姓名,手机号,村(社区)\n钟大爷,13800020002,福集镇二村\n".encode()
    assert upload(client, bom, "名单.csv").status_code == 302
    assert latest().to_create == 1


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "照片.xlsx", 415, "不是有效的 Excel"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "名单.xls", 415, "另存为"),
        (b"PK\x03\x04garbage", "名单.xlsx", 415, "不是有效的 Excel"),
        (b"\x00\x01\x02binary", "名单.csv", 415, "不是表格"),
        ("姓名,电话\n张三,13800000000\n".encode(), "名单.csv", 422, "表头缺少“手机号”"),
        ("姓名,手机号,村(社区)\n".encode(), "名单.csv", 422, "只有表头"),
        (b"", "empty.csv", 422, "文件是空的"),
    ],
)
def test_hostile_files_get_a_chinese_4xx(client, town_admin, data, name, status, message):
    sign_in(client, town_admin)
    response = upload(client, data, name)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert latest() is None


def test_too_large_a_file_is_refused(client, town_admin, monkeypatch):
    # The limit is 10 MB (a 60 MB upload is refused before it is read); here 100 kB, so that
    # the test client keeps the upload in memory.
    from lms.admin import imports_read

    monkeypatch.setattr(imports_read, "MAX_BYTES", 100_000)
    monkeypatch.setattr(import_views, "MAX_BYTES", 100_000)
    sign_in(client, town_admin)
    for size in (150_000, 100_001):  # refused by its length, then by what was read
        response = upload(client, b"a" * size, "大文件.csv")
        assert response.status_code == 413
        assert "文件太大" in response.get_data(as_text=True)


def test_formulas_merged_cells_and_hidden_sheets(client, town_admin):
    def prepare(book):
        sheet = book.active
        sheet["B3"] = "=B2+1"
        sheet.merge_cells("C2:C3")
        hidden = book.create_sheet("隐藏")
        hidden.append(HEADERS)
        hidden.append(["隐藏人", "13800030009", "福集镇一村"])
        hidden.sheet_state = "hidden"

    rows = [["甲", "13800030001", "福集镇一村"], ["乙", "", "福集镇一村"]]
    sign_in(client, town_admin)
    assert upload(client, xlsx(rows, HEADERS[:3], prepare=prepare)).status_code == 302
    batch = latest()
    problems = {(row, column): message for row, column, message in batch.problems}
    assert "公式" in problems[(3, "手机号")]
    assert "村（社区）" in problems[(3, "村(社区)")]  # the merged cell is empty below
    assert batch.good_rows == 1
    assert "已忽略隐藏的工作表" in batch.notes


def test_a_million_empty_rows_stop_at_the_real_data(client, town_admin):
    sign_in(client, town_admin)
    data = xlsx([["甲", "13800040001", "福集镇一村"]], HEADERS[:3])
    source = zipfile.ZipFile(io.BytesIO(data))
    sheet = source.read("xl/worksheets/sheet1.xml").decode()
    empty = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t></t></is></c></row>'
        for n in range(3, 1_000_001)
    )
    sheet = sheet.replace("</sheetData>", empty + "</sheetData>")
    sheet = re.sub(r'<dimension ref="[^"]+"/>', '<dimension ref="A1:C1000000"/>', sheet)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = (
                sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            )
            target.writestr(item.filename, body)
    assert len(out.getvalue()) < 10 * 1024 * 1024
    response = upload(client, out.getvalue())
    assert response.status_code == 302
    assert latest().total_rows == 1


def test_too_many_rows_are_refused_with_the_limit(client, town_admin, monkeypatch):
    from lms.admin import imports_read

    monkeypatch.setattr(imports_read, "MAX_ROWS", 3)
    sign_in(client, town_admin)
    rows = [[f"人{n}", f"138000500{n:02d}", "福集镇一村"] for n in range(5)]
    response = upload(client, xlsx(rows, HEADERS[:3]))
    assert response.status_code == 413
    assert "超过 3 行" in response.get_data(as_text=True)


def test_a_large_roll_runs_in_the_job_queue_with_progress(client, town_admin, monkeypatch):
    monkeypatch.setattr(import_views, "INLINE_ROWS", 2)
    monkeypatch.setattr(imports, "CHUNK", 2)
    sign_in(client, town_admin)
    rows = [[f"人{n}", f"138000600{n:02d}", "福集镇一村"] for n in range(5)]
    upload(client, xlsx(rows, HEADERS[:3]))
    batch = latest()
    response = client.post(f"/admin/imports/{batch.id}/run")  # the job runs at once in tests
    assert response.status_code == 302
    db.session.expire_all()
    batch = latest()
    assert batch.status is ImportStatus.DONE
    assert batch.created == 5
    status = client.get(f"/admin/imports/{batch.id}/status").get_json()
    assert status["progress"] == 100
    page = client.get(f"/admin/imports/{batch.id}").get_data(as_text=True)
    assert "新增 5 人" in page
    assert client.post(f"/admin/imports/{batch.id}/run").status_code == 302  # twice: nothing
    assert latest().created == 5


def test_the_template_has_the_columns(client, town_admin):
    sign_in(client, town_admin)
    response = client.get("/admin/imports/template.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert [cell.value for cell in sheet[1]] == HEADERS


def test_the_api_checks_imports_and_returns_the_slips(client, town_admin):
    from tests.conftest import api_token

    headers = api_token(client, town_admin)
    data = xlsx([["甲", "13800070001", "福集镇一村"], ["乙", "1", "福集镇一村"]], HEADERS[:3])
    part = FileStorage(io.BytesIO(data), filename="名单.xlsx")
    response = client.post("/api/v1/admin/imports", data={"file": part}, headers=headers)
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert (out["good_rows"], out["problem_rows"]) == (1, 1)
    assert out["problems"][0]["row"] == 3
    assert out["problems"][0]["column"] == "手机号"
    run = client.post(f"/api/v1/admin/imports/{out['id']}/run", headers=headers)
    assert run.status_code == 202
    again = client.post(f"/api/v1/admin/imports/{out['id']}/run", headers=headers)
    assert again.status_code == 409
    slips = client.get(f"/api/v1/admin/imports/{out['id']}/slips", headers=headers).get_json()
    assert [s["phone"] for s in slips["items"]] == ["13800070001"]
    bad = FileStorage(io.BytesIO(b"not a sheet \x00"), filename="x.xlsx")
    response = client.post("/api/v1/admin/imports", data={"file": bad}, headers=headers)
    assert response.status_code == 415
    assert "Excel" in response.get_json()["error"]["message"]


def test_slips_only_of_people_still_managed_and_not_after_30_days(client, town_admin):
    from datetime import timedelta

    from lms.core.time import utcnow
    from tests.conftest import api_token, unit

    sign_in(client, town_admin)
    roll = [["甲", "13800080001", "福集镇一村"], ["乙", "13800080002", "福集镇二村"]]
    assert upload(client, xlsx(roll, HEADERS[:3])).status_code == 302
    batch = latest()
    assert client.post(f"/admin/imports/{batch.id}/run").status_code == 302
    moved = db.session.scalar(select(User).filter_by(phone="13800080002"))
    moved.org_unit = unit("嘉明镇一村")  # moved away: no longer this administrator's
    db.session.commit()
    page = client.get(f"/admin/imports/{batch.id}/slips").get_data(as_text=True)
    assert "13800080001" in page
    assert "13800080002" not in page
    headers = api_token(client, town_admin)
    path = f"/api/v1/admin/imports/{batch.id}/slips"
    assert [s["phone"] for s in client.get(path, headers=headers).get_json()["items"]] == [
        "13800080001"
    ]

    batch.finished_at = utcnow() - timedelta(days=31)
    db.session.commit()
    response = client.get(f"/admin/imports/{batch.id}/slips")
    assert response.status_code == 410
    assert "超过 30 天" in response.get_data(as_text=True)
    assert "one-time-password" not in response.get_data(as_text=True)
    response = client.get(path, headers=headers)
    assert response.status_code == 410
    assert "超过 30 天" in response.get_json()["error"]["message"]


def test_the_roll_is_deleted_only_once_the_import_is_committed(client, town_admin):
    from lms.core import storage

    sign_in(client, town_admin)
    assert upload(client, xlsx([["甲", "13800090001", "福集镇一村"]], HEADERS[:3])).status_code
    batch = imports.claim(latest().id, from_status=ImportStatus.CHECKED)
    db.session.commit()
    path = storage.media_path(batch.file)
    imports.run_import(batch)
    assert path.exists()  # not yet committed
    db.session.rollback()  # the commit failed: the run can be repeated, the file is there
    assert path.exists()
    batch = latest()
    assert batch.status is ImportStatus.RUNNING
    imports.run_import(batch)
    db.session.commit()
    assert not path.exists()
    assert latest().file is None


def test_only_administrators_import_page_and_api_alike(client, teacher):
    from tests.conftest import api_token

    sign_in(client, teacher)
    response = client.get("/admin/imports")
    assert response.status_code == 403
    assert "只有管理员可以办理" in response.get_data(as_text=True)
    headers = api_token(client, teacher)
    for path in ("/api/v1/admin/imports/1/slips", "/api/v1/people"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"]["message"] == "只有管理员可以办理"

"""The learning file: everything in time order with yearly totals, filters, PDF and xAPI
exports; staff see the files of residents in their scope and nobody else's."""

from __future__ import annotations

import pytest

from lms.accounts.models import Role
from lms.credits import operations
from lms.credits.models import OutcomeKind
from lms.extensions import db
from lms.records.learning_file import ItemKind, build
from tests.conftest import api_token, sign_in
from tests.credits.conftest import complete_course, poppler, submit


@pytest.fixture
def history(resident, registrar, create_course):
    complete_course(resident, create_course("生猪科学养殖技术", hours=16, lessons=2))
    operations.certify_outcome(registrar, submit(resident, hours="8", title="防汛志愿服务"))
    submit(resident, hours="2", title="广场舞比赛", kind=OutcomeKind.ACTIVITY)
    db.session.commit()
    return resident


def test_everything_is_there_in_time_order(history):
    file = build(history)
    kinds = [item.kind for item in file.items]
    assert kinds.count(ItemKind.ENROLMENT) == 1
    assert kinds.count(ItemKind.LESSON) == 2
    assert kinds.count(ItemKind.COURSE) == 1
    assert kinds.count(ItemKind.OUTCOME) == 2  # certified and pending offline outcomes
    assert kinds.count(ItemKind.CREDIT) == 2
    times = [item.occurred_at for item in file.items]
    assert times == sorted(times, reverse=True)
    [total] = file.totals
    assert str(total.credits) == "1.5"
    assert str(total.hours) == "24.0"  # the course and the certified outcome; not the pending one


def test_filters_by_kind_and_year(history):
    only_credits = build(history, kind=ItemKind.CREDIT)
    assert {item.kind for item in only_credits.items} == {ItemKind.CREDIT}
    year = build(history).years[0]
    assert len(build(history, year=year).items) == 8
    assert build(history, year=year - 1).items == []
    assert build(history, year=year - 1).totals  # totals always cover the whole file


def test_page_shows_the_file_and_totals(client, history):
    sign_in(client, history)
    html = client.get("/me/learning-file").get_data(as_text=True)
    assert "生猪科学养殖技术" in html
    assert "防汛志愿服务" in html
    assert "广场舞比赛" in html
    assert client.get("/me/learning-file?kind=credit&year=1900").status_code == 200
    assert client.get("/me/learning-file?kind=nonsense&page=999").status_code == 200


def test_pdf_export_holds_the_chinese_text(client, history, tmp_path):
    sign_in(client, history)
    response = client.get("/me/learning-file.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    path = tmp_path / "file.pdf"
    path.write_bytes(response.data)
    text = poppler("pdftotext", "-layout", str(path), "-")
    assert "学习档案" in text
    assert "王芳" in text
    assert "生猪科学养殖技术" in text


def test_xapi_export(client, history):
    headers = api_token(client, history)
    statements = client.get("/api/v1/me/learning-file?format=xapi", headers=headers).get_json()
    verbs = [s["verb"]["id"].rsplit("/", 1)[1] for s in statements]
    assert verbs.count("registered") == 1
    assert verbs.count("completed") == 3  # two lessons and the course
    assert "attended" in verbs  # the certified volunteer service
    for statement in statements:
        assert statement["actor"]["account"]["name"] == operations.account_for(history).account_no
        assert statement["verb"]["id"].startswith("http://adlnet.gov/expapi/verbs/")
        assert statement["timestamp"].endswith("Z") or "+" in statement["timestamp"]
    again = client.get("/api/v1/me/learning-file?format=xapi", headers=headers).get_json()
    assert [s["id"] for s in again] == [s["id"] for s in statements]  # stable ids


def test_video_lesson_statements_carry_the_video_profile(app, resident):
    from datetime import UTC, datetime

    from lms.records.learning_file import Item, LearningFile
    from lms.records.xapi import statements

    item = Item(
        datetime(2026, 3, 1, tzinfo=UTC),
        ItemKind.LESSON,
        "第一课",
        ref={
            "course_id": 1,
            "course_title": "课程",
            "lesson_id": 7,
            "video": True,
            "watched_s": 540.0,
            "length_s": 600,
            "intervals": [[0.0, 300.0], [320.0, 560.0]],
        },
    )
    with app.test_request_context():
        [statement] = statements(LearningFile(resident, None, [item], []))
    extensions = statement["result"]["extensions"]
    assert extensions["https://w3id.org/xapi/video/extensions/length"] == 600
    assert extensions["https://w3id.org/xapi/video/extensions/progress"] == 0.9
    assert (
        extensions["https://w3id.org/xapi/video/extensions/played-segments"]
        == "0.000[.]300.000[,]320.000[.]560.000"
    )
    assert statement["result"]["duration"] == "PT540.0S"
    assert (
        statement["object"]["definition"]["type"]
        == "https://w3id.org/xapi/video/activity-type/video"
    )


def test_json_api_lists_items_and_totals(client, history):
    headers = api_token(client, history)
    body = client.get("/api/v1/me/learning-file", headers=headers).get_json()
    assert len(body["items"]) == 8
    assert body["totals"][0]["credits"] == 1.5
    assert {"occurred_at", "kind", "title", "hours", "credits", "detail"} <= set(body["items"][0])
    assert client.get("/api/v1/me/learning-file?kind=x", headers=headers).status_code == 422
    assert client.get("/api/v1/me/learning-file?year=abc", headers=headers).status_code == 422


def test_staff_in_scope_see_the_file_others_do_not(client, history, create_user):
    town_admin = create_user(Role.ADMIN, "福集镇", name="镇管理员")
    town_registrar = create_user(Role.REGISTRAR, "福集镇一村", name="村专员")
    other_admin = create_user(Role.ADMIN, "嘉明镇", name="外镇管理员")
    neighbour = create_user(name="邻居")
    path = f"/residents/{history.id}/learning-file"
    for viewer, status in [
        (town_admin, 200),
        (town_registrar, 200),
        (other_admin, 404),
        (neighbour, 404),
    ]:
        client.get("/sign-out")
        with client.session_transaction() as session:
            session.clear()
        sign_in(client, viewer)
        assert client.get(path).status_code == status, viewer.name
        assert client.get(path + ".pdf").status_code == status
        assert client.get(path + ".xapi.json").status_code == status

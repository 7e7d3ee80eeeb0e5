"""The index follows the database after each commit, one writer at a time; a rebuild swaps a
new index in while searches go on; residents reach search from every page and the API."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import pytest
from whoosh.query import Every

from lms.courses import operations as courses
from lms.extensions import db
from lms.media import operations as media
from lms.search.index import rebuild, searcher, update_courses
from lms.search.query import search
from tests.search.conftest import build_course


def titles(q: str) -> set[str]:
    """The courses found by the words of *q* (none when only the OR fallback found some)."""
    found = search(q)
    return set() if found.fallback else {hit.title for hit in found.items}


def test_publishing_and_withdrawing_update_the_index(teachers, categories):
    course = build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    assert titles("茶叶") == {"茶叶采摘"}
    courses.unpublish_course(course)
    db.session.commit()
    assert titles("茶叶") == set()
    courses.publish_course(course)
    db.session.commit()
    assert titles("明前茶") == {"茶叶采摘"}
    courses.archive_course(course)
    db.session.commit()
    assert titles("茶叶") == set()


def test_edits_of_a_published_course_are_found(teachers, categories):
    course = build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    courses.update_course(
        course,
        title="蜜蜂养殖",
        summary="<p>中蜂</p>",
        category=categories["农村实用技术"],
        hours=4,
    )
    courses.add_text_lesson(course, title="分蜂", body="<p>蜂王与工蜂</p>")
    db.session.commit()
    assert titles("蜜蜂") == {"蜜蜂养殖"}
    assert titles("茶叶") == set()
    assert titles("工蜂") == {"蜜蜂养殖"}
    assert titles("mifeng") == {"蜜蜂养殖"}
    lesson = course.lessons[0]
    courses.update_text_lesson(lesson, title="春季管理", body="<p>防治蜂螨</p>", required=True)
    db.session.commit()
    assert titles("蜂螨") == {"蜜蜂养殖"}
    assert titles("明前茶") == set()


def test_a_rolled_back_change_leaves_the_index_alone(teachers, categories):
    course = build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    courses.unpublish_course(course)
    db.session.rollback()
    assert titles("茶叶") == {"茶叶采摘"}


def docx(text: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
    buffer.seek(0)
    return buffer


def test_the_text_of_word_documents_is_found(teachers, categories):
    course = build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    material = media.add_material(
        course, teachers["li"], filename="讲义.docx", stream=docx("黑茶的渥堆发酵工艺")
    )
    db.session.commit()
    assert titles("渥堆") == {"茶叶采摘"}
    assert titles("讲义") == {"茶叶采摘"}
    media.delete_material(material)
    db.session.commit()
    assert titles("渥堆") == set()


def test_writes_from_web_and_worker_at_once_lose_no_update(app, teachers, categories):
    made = [
        build_course(
            teachers, categories, f"课程{n}", "农村实用技术", "li", "", [("课", "<p>内容</p>")]
        )
        for n in range(24)
    ]
    for course in made:
        course.title = f"甘蔗第{course.id}号"  # changed in the database, not yet in the index
    db.session.commit()
    ids = [course.id for course in made]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(chunk: list[int]) -> None:
        with app.app_context():
            try:
                start.wait()
                for course_id in chunk:
                    update_courses([course_id])
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert search("甘蔗", per_page=100).total == 24


def test_rebuild_swaps_in_a_new_index_while_searches_go_on(app, teachers, categories):
    build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    old = searcher()
    root = Path(app.config["LMS_SEARCH_DIR"])
    before = (root / "current").resolve()
    assert rebuild() == 1
    after = (root / "current").resolve()
    assert after != before
    assert (root / "current").is_symlink()
    assert len(old.search(Every())) == 1  # the old searcher still answers
    assert titles("茶叶") == {"茶叶采摘"}
    assert rebuild() == 1
    assert sorted(p.name for p in root.glob("v-*")) == sorted(
        {after.name, (root / "current").resolve().name}
    )


def test_changes_during_a_rebuild_are_kept(app, teachers, categories, monkeypatch):
    made = [
        build_course(
            teachers, categories, f"课程{n}", "农村实用技术", "li", "", [("课", "<p>内容</p>")]
        )
        for n in range(6)
    ]
    from lms.search import index

    original = index.course_document
    edited = threading.Event()

    def slow_document(course, *args):
        # Halfway through the build, someone renames a course the build has already read.
        if course.id == made[3].id and not edited.is_set():
            edited.set()
            thread = threading.Thread(target=rename, args=(made[0].id,))
            thread.start()
            thread.join()
        return original(course, *args)

    def rename(course_id):
        with app.app_context():
            from lms.courses.models import Course

            course = db.session.get(Course, course_id)
            courses.update_course(
                course, title="荔枝嫁接", summary="", category=course.category, hours=2
            )
            db.session.commit()
            db.session.remove()

    monkeypatch.setattr(index, "course_document", slow_document)
    rebuild()
    monkeypatch.undo()
    assert edited.is_set()
    assert titles("荔枝") == {"荔枝嫁接"}
    assert search("课程", per_page=100).total == 5


def test_lms_search_reindex(app, teachers, categories):
    build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 1 published course(s)" in result.output
    assert titles("茶叶") == {"茶叶采摘"}


# Where residents meet search ---------------------------------------------------------------


def test_the_header_search_box_leads_to_the_search_page(client, catalogue):
    page = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in page
    response = client.get("/search", query_string={"q": "養殖"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "生猪科学养殖技术" in html
    assert "<mark" in html
    assert "<script>" not in html.split("</head>")[1]


def test_the_search_page_offers_a_suggestion_and_facets(client, catalogue):
    html = client.get("/search?q=样植").get_data(as_text=True)
    assert "您是不是要找" in html
    assert "/search?q=%E5%85%BB%E6%AE%96" in html
    html = client.get("/search?q=入门").get_data(as_text=True)
    assert "健康养生 (1)" in html
    assert "福集镇 (3)" in html


def test_the_search_page_in_english(client, catalogue):
    client.get("/lang/en")
    html = client.get("/search?q=样植").get_data(as_text=True)
    assert "Did you mean" in html


def test_search_api(client, catalogue, categories):
    response = client.get("/api/v1/search", query_string={"q": "入门", "per_page": 2})
    assert response.status_code == 200
    data = response.get_json()
    assert data["total"] == 3
    assert len(data["items"]) == 2
    assert set(data["items"][0]) >= {"type", "id", "title", "snippet"}
    assert data["items"][0]["type"] == "course"
    names = {facet["name"]: facet["count"] for facet in data["facets"]["category"]}
    assert names == {"农村实用技术": 2, "健康养生": 1}
    assert data["facets"]["town"] == [{"id": None, "name": "福集镇", "count": 3}]
    by_name = client.get("/api/v1/search", query_string={"q": "入门", "category": "健康养生"})
    assert by_name.get_json()["total"] == 1
    by_id = client.get(
        "/api/v1/search", query_string={"q": "入门", "category": categories["健康养生"].id}
    )
    assert by_id.get_json()["total"] == 1
    assert client.get("/api/v1/search?q=样植").get_json()["suggestion"] == "养殖"


BAD_INPUT = [
    "",
    "   ",
    "x" * 10_000,
    "养" * 10_000,
    "AND",
    "OR",
    "NOT",
    "AND OR NOT",
    "*",
    "?",
    "养*",
    '"',
    '"养殖',
    "(",
    ")",
    "((养殖",
    "养殖)",
    ":",
    "title:养殖",
    "id:1",
    "category:1",
    "[a TO z]",
    "养殖^100",
    "🐷🐖",
    "养猪🐷",
    "' OR 1=1 --",
    "'; DROP TABLE course; --",
    "1' UNION SELECT password_hash FROM user --",
    "<script>alert(1)</script>",
    "%00",
    "\\",
    "~",
    "养殖~2",
    "\u200b",
]


@pytest.mark.parametrize("q", BAD_INPUT, ids=range(len(BAD_INPUT)))
def test_bad_input_never_breaks_search(client, catalogue, q):
    page = client.get("/search", query_string={"q": q})
    assert page.status_code == 200
    assert "<script>alert" not in page.get_data(as_text=True)
    api = client.get("/api/v1/search", query_string={"q": q})
    if len(q) > 100:
        assert api.status_code == 422
        assert api.get_json()["error"]["message"]
    else:
        assert api.status_code == 200, api.get_data(as_text=True)
        assert isinstance(api.get_json()["items"], list)


def test_bad_paging_is_refused_clearly(client, catalogue):
    assert client.get("/api/v1/search?q=养殖&page=0").status_code == 422
    assert client.get("/api/v1/search?q=养殖&per_page=1000").status_code == 422
    assert client.get("/search?q=养殖&page=abc").status_code == 200
    assert client.get("/search?q=养殖&page=99999").status_code == 200


def pdf(text: str) -> io.BytesIO:
    """A one-page PDF whose text layer says *text* (ASCII, Helvetica), with a correct xref."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return io.BytesIO(bytes(out))


def test_the_text_of_pdf_documents_is_found(teachers, categories):
    course = build_course(
        teachers, categories, "茶叶采摘", "农村实用技术", "li", "", [("春茶", "<p>明前茶</p>")]
    )
    media.add_material(
        course, teachers["li"], filename="手册.pdf", stream=pdf("Kombucha fermentation")
    )
    db.session.commit()
    assert titles("kombucha") == {"茶叶采摘"}
    assert titles("手册") == {"茶叶采摘"}

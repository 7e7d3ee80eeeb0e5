"""Course documents: checked by content as well as name, size-limited, downloaded under their
Chinese names, PDFs shown inline, refused files leaving nothing behind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.courses.models import LessonKind
from lms.extensions import db
from lms.media.models import Material
from tests.conftest import api_token, sign_in

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def ooxml(main_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


def documents_on_disk(app) -> list[Path]:
    root = Path(app.config["LMS_MEDIA_DIR"]) / "documents"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post_material(client, headers, course, data: bytes, name: str):
    return client.post(
        f"/api/v1/courses/{course.id}/materials",
        headers=headers,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (PDF, "养猪技术手册.pdf", "pdf"),
        (ooxml("word/document.xml"), "讲义.docx", "docx"),
        (ooxml("ppt/presentation.xml"), "课件.pptx", "pptx"),
        (ooxml("xl/workbook.xml"), "成绩表.xlsx", "xlsx"),
    ],
)
def test_documents_are_accepted_by_content(app, client, teacher, create_course, data, name, kind):
    course = create_course(publish=False)
    response = post_material(client, api_token(client, teacher), course, data, name)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"] == kind
    assert response.get_json()["filename"] == name


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"just text", "讲义.pdf"),  # a text file renamed .pdf
        (PDF, "讲义.docx"),  # a PDF renamed .docx
        (ooxml("ppt/presentation.xml"), "讲义.docx"),  # a PowerPoint renamed .docx
        (b"PK\x03\x04 broken zip", "讲义.xlsx"),  # a damaged archive
        (PDF, "讲义.exe"),  # an unsupported name
        (b"", "空.pdf"),  # empty
    ],
)
def test_what_is_not_the_document_it_claims_is_refused_and_leaves_nothing(
    app, client, teacher, create_course, data, name
):
    course = create_course(publish=False)
    response = post_material(client, api_token(client, teacher), course, data, name)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0
    assert documents_on_disk(app) == []


@pytest.mark.parametrize("app_config", [{"LMS_DOCUMENT_MAX_BYTES": 1000}])
def test_an_oversized_document_is_refused(app, client, teacher, create_course):
    course = create_course(publish=False)
    response = post_material(
        client, api_token(client, teacher), course, PDF + b"0" * 2000, "大.pdf"
    )
    assert response.status_code == 413
    assert documents_on_disk(app) == []


def test_downloads_keep_chinese_names_and_pdfs_open_inline(
    client, teacher, resident, create_course
):
    course = create_course()
    headers = api_token(client, teacher)
    pdf = post_material(client, headers, course, PDF, "养猪技术手册.pdf").get_json()
    docx = post_material(
        client, headers, course, ooxml("word/document.xml"), "讲义 第一课.docx"
    ).get_json()
    sign_in(client, resident)
    response = client.get(pdf["url"])
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;")
    assert (
        "filename*=UTF-8''%E5%85%BB%E7%8C%AA%E6%8A%80%E6%9C%AF%E6%89%8B%E5%86%8C.pdf" in disposition
    )
    assert response.data == PDF
    response.close()
    response = client.get(docx["url"])
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "%E8%AE%B2%E4%B9%89%20%E7%AC%AC%E4%B8%80%E8%AF%BE.docx"
        in response.headers["Content-Disposition"]
    )
    response.close()


def test_a_draft_courses_documents_are_for_its_editors_only(
    app, client, teacher, resident, create_course
):
    course = create_course(publish=False)
    material = post_material(client, api_token(client, teacher), course, PDF, "a.pdf").get_json()
    anonymous = app.test_client().get(material["url"])
    assert anonymous.status_code == 404
    sign_in(client, resident)
    assert client.get(material["url"]).status_code == 404


def test_a_document_lesson_by_multipart(client, teacher, create_course):
    course = create_course(publish=False)
    response = client.post(
        f"/api/v1/courses/{course.id}/lessons",
        headers=api_token(client, teacher),
        data={"title": "阅读材料", "kind": "document", "file": (io.BytesIO(PDF), "阅读.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == LessonKind.DOCUMENT.value
    assert body["document"]["filename"] == "阅读.pdf"
    listed = client.get(
        f"/api/v1/courses/{course.id}/materials", headers=api_token(client, teacher)
    )
    assert listed.get_json()["items"] == []  # a lesson's document is not a course material


def test_web_upload_of_a_course_document(app, client, teacher, create_course):
    course = create_course(publish=False)
    sign_in(client, teacher)
    response = client.post(
        f"/courses/{course.id}/documents/new",
        data={"file": (io.BytesIO(ooxml("xl/workbook.xml")), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    refused = client.post(
        f"/courses/{course.id}/documents/new",
        data={"file": (io.BytesIO(b"MZ\x90\x00"), "病毒.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "只能上传" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Material)) == 1


def _pdf_with_script() -> bytes:
    """A real PDF (written by pypdf) with a document-level JavaScript in its name tree."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hi');"),
        }
    )
    names = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(action)])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(names)}
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/Launch/F(calc.exe)>>>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n",
        _pdf_with_script(),
    ],
    ids=["open-action-javascript", "launch", "named-javascript"],
)
def test_a_pdf_that_runs_something_is_refused_and_leaves_nothing(
    app, client, teacher, create_course, data
):
    course = create_course(publish=False)
    response = post_material(client, api_token(client, teacher), course, data, "讲义.pdf")
    assert response.status_code == 422
    assert "脚本" in response.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0
    assert documents_on_disk(app) == []


def test_an_ordinary_pdf_with_text_and_links_is_accepted(app, client, teacher, create_course):
    from tests.credits.conftest import pdf_bytes

    course = create_course(publish=False)
    response = post_material(client, api_token(client, teacher), course, pdf_bytes(), "讲义.pdf")
    assert response.status_code == 201, response.get_json()

"""Pictures in lesson texts (the editor's 插入图片): a real image is checked and shrunk like a
cover and kept by the lesson's body; anything else (not an image, 50 MB, an SVG with script) is
refused with a clear message in Chinese and nothing is stored."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lms.core import storage
from lms.courses import operations
from lms.extensions import db
from tests.courses.conftest import assert_api_error, png, signed_in

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


@pytest.fixture
def course(create_course):
    return create_course(lessons=1, publish=False)


def pictures(app) -> list:
    folder = storage.media_path("pictures")
    return sorted(folder.iterdir()) if folder.exists() else []


def upload(client, course, data: bytes | io.BytesIO, name: str = "猪舍.png"):
    stream = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    return client.post(
        f"/api/v1/courses/{course.id}/pictures",
        data={"picture": (stream, name)},
        content_type="multipart/form-data",
    )


def test_a_picture_is_shrunk_to_fit_and_kept_by_the_lesson(app, teacher, course):
    client = signed_in(app, teacher)
    response = upload(client, course, png((2560, 1280)))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["width"], answer["height"]) == (1280, 640)
    assert answer["url"].startswith("/pictures/")
    [stored] = pictures(app)
    with Image.open(stored) as image:
        assert (image.format, image.size) == ("JPEG", (1280, 640))
    served = client.get(answer["url"])
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    served.close()

    body = f'<p>猪舍</p><img src="{answer["url"]}" alt="猪舍" width="1280" height="640">'
    operations.update_text_lesson(course.lessons[0], title="第1课", body=body, required=True)
    db.session.commit()
    assert f'src="{answer["url"]}"' in course.lessons[0].body


def test_what_is_not_a_picture_is_refused_and_nothing_stored(app, teacher, resident, course):
    client = signed_in(app, teacher)
    for data, name, status, message in (
        (b"%PDF-1.4 not a picture at all", "说明.png", 415, "这不是有效的图片文件"),
        (SVG, "图.svg", 415, "不支持 SVG 等矢量图，请上传 JPG、PNG、WEBP 或 GIF 图片"),
        (b"\xef\xbb\xbf  " + SVG[22:], "图.png", 415, "不支持 SVG"),  # named .png: read, not named
        (b"", "空.png", 422, "图片文件是空的"),
    ):
        response = upload(client, course, data, name)
        assert message in assert_api_error(response, status)["message"]

    # 50 MB, refused before it is read; the multipart body is written out by hand (the test
    # client would spool 50 MB to a file)
    body = (
        b'--x\r\nContent-Disposition: form-data; name="picture"; filename="big.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff" + bytes(50 * 1024 * 1024) + b"\r\n--x--\r\n"
    )
    response = client.post(
        f"/api/v1/courses/{course.id}/pictures",
        data=body,
        content_type="multipart/form-data; boundary=x",
    )
    assert assert_api_error(response, 413, "too_large")["message"] == "图片不能超过 5 MB"

    # only the course's teachers add pictures
    assert_api_error(upload(signed_in(app, resident), course, png()), 404)
    assert pictures(app) == []


def test_the_lesson_form_has_the_toolbar_and_no_inline_script(app, teacher, course):
    page = signed_in(app, teacher).get(f"/courses/{course.id}/lessons/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="toolbar"' in html
    for label in ("加粗", "小标题", "列表", "链接", "插入图片"):
        assert f">{label}" in html
    assert f'data-picture-url="/api/v1/courses/{course.id}/pictures"' in html
    assert "/static/js/editor" in html
    assert "<script>" not in html  # the CSP allows no inline script
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]

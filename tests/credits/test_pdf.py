"""PDF transcripts and learning files: Chinese text that is embedded, extractable and legible on
any reader, a table that survives many pages, and a QR code that leads to the verify page.

Checked with poppler (pdftotext, pdffonts, pdftoppm), as a reader or a printer would see it.
Page images are kept in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import segno
from PIL import Image

from lms.credits.pdf import render_learning_file_pdf, render_transcript_pdf
from tests.credits.conftest import poppler

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SERIAL = "LX2026-7F3K9Q2M"
VERIFY_URL = f"http://127.0.0.1:5000/verify/{SERIAL}?code=abc123"
LONG_TITLE = "农村电商直播带货实务：从选品、拍摄到售后服务的全流程（第二期）"


def transcript(entries: int) -> dict:
    return {
        "format": "lms-transcript/1",
        "serial": SERIAL,
        "issued_at": "2026-11-23T15:20:00+08:00",
        "issuer": {"name": "泸县社区教育学院", "code": "510521"},
        "holder": {"name": "张秀英", "phone": "137****0001", "account_no": "510521-2026-000001"},
        "entries": [
            {
                "entry_id": number,
                "date": f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}",
                "title": ["生猪养殖技术", LONG_TITLE, "智能手机<入门> & 防诈骗"][number % 3],
                "kind": "online_course",
                "kind_label": ["线上课程", "线下培训", "志愿服务"][number % 3],
                "hours": "8.0",
                "credits": "0.5",
                "certified_by": "泸县社区教育学院" if number % 4 else "福集镇社区学校",
            }
            for number in range(entries)
        ],
        "total_hours": f"{8 * entries:.1f}",
        "total_credits": f"{0.5 * entries:.1f}",
        "verify_url": VERIFY_URL,
    }


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def pages_text(path: Path) -> list[str]:
    """The text of each page, with the spaces that layout mode adds taken out."""
    text = poppler("pdftotext", "-layout", str(path), "-")
    return [re.sub(r"[ \t]+", "", page) for page in text.split("\f") if page.strip()]


def page_image(path: Path, page: int, artifact: str, *, resolution: int = 60) -> Image.Image:
    prefix = path.with_suffix("")
    poppler(
        "pdftoppm", "-r", str(resolution), "-png", "-singlefile", "-f", str(page), "-l", str(page),
        str(path), str(prefix),
    )  # fmt: skip
    png = prefix.with_suffix(".png")
    assert png.stat().st_size > 1000
    assert png.read_bytes().startswith(b"\x89PNG")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / artifact)
    with Image.open(png) as image:
        return image.convert("L")


def assert_fonts_embedded(path: Path) -> None:
    rows = poppler("pdffonts", str(path)).splitlines()[2:]
    assert rows, "the PDF names no font"
    for row in rows:
        columns = row.split()
        assert columns[-5] == "yes", f"not embedded: {row}"  # the "emb" column
        assert "STSong" not in row
        assert "WenQuanYiMicroHei" in row


def test_transcript_shows_the_holder_entries_and_totals_as_text(app, tmp_path):
    path = write(tmp_path, "transcript.pdf", render_transcript_pdf(transcript(3)))

    (page,) = pages_text(path)
    for expected in [
        "学分证明",
        "泸县社区教育学院",
        "张秀英",
        "137****0001",
        "510521-2026-000001",
        "生猪养殖技术",
        "智能手机<入门>&防诈骗",  # markup in a title is shown, not interpreted
        "线下培训",
        SERIAL,
        "2026-11-2315:20",
        "扫码核验",
        VERIFY_URL,
        "第1页/共1页",
    ]:
        assert expected in page, expected
    (totals,) = [line for line in page.splitlines() if line.startswith("合计")]
    assert totals == "合计24.01.5"


def test_transcript_font_is_embedded_and_page_renders(app, tmp_path):
    path = write(tmp_path, "transcript.pdf", render_transcript_pdf(transcript(3)))

    assert_fonts_embedded(path)
    image = page_image(path, 1, "transcript-3-entries-page1.png")
    assert image.size[1] == 702  # A4 at 60 dpi
    info = poppler("pdfinfo", str(path))
    assert re.search(rf"^Title:\s+学分证明 {SERIAL}$", info, re.MULTILINE)
    assert re.search(r"^Author:\s+泸县社区教育学院$", info, re.MULTILINE)


def test_qr_code_encodes_the_verify_address(app, tmp_path):
    path = write(tmp_path, "transcript.pdf", render_transcript_pdf(transcript(3)))
    image = page_image(path, 1, "transcript-3-entries-page1-200dpi.png", resolution=200)

    # The QR code is the only pure black on the page (text is dark grey), so its dark modules
    # give its outline; then every module's centre must match the code of the verify address.
    gray = image
    left, top, right, bottom = gray.point(lambda value: 255 if value < 16 else 0).getbbox()
    matrix = segno.make_qr(VERIFY_URL, error="m").matrix
    step_x, step_y = (right - left) / len(matrix), (bottom - top) / len(matrix)
    assert 4 < step_x < 10
    assert step_x == pytest.approx(step_y, rel=0.05)
    drawn = [
        [gray.getpixel((int(left + (x + 0.5) * step_x), int(top + (y + 0.5) * step_y))) < 128 for x in range(len(row))]
        for y, row in enumerate(matrix)
    ]  # fmt: skip
    assert drawn == [[bool(module) for module in row] for row in matrix]


def test_long_transcript_repeats_the_table_header_on_every_page(app, tmp_path):
    started = time.perf_counter()
    content = render_transcript_pdf(transcript(200))
    elapsed = time.perf_counter() - started
    path = write(tmp_path, "transcript.pdf", content)

    pages = pages_text(path)
    assert elapsed < 3
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        if "线上课程" in page or "合计" in page:
            assert "日期学习成果类别学时学分认证单位" in page
        assert f"第{number}页/共{len(pages)}页" in page
        assert SERIAL in page  # the footer names the transcript on every page
    assert sum("日期学习成果类别学时学分认证单位" in page for page in pages) >= len(pages) - 1
    assert sum(page.count(LONG_TITLE[:10]) for page in pages) == 67
    assert "".join(pages).count("合计1600.0100.0") == 1
    assert "扫码核验" in pages[-1]
    assert_fonts_embedded(path)
    page_image(path, 1, "transcript-200-entries-page1.png")
    page_image(path, 2, "transcript-200-entries-page2.png")


def test_transcript_without_entries_says_so(app, tmp_path):
    snapshot = {**transcript(0), "total_hours": "0.0", "total_credits": "0.0"}
    path = write(tmp_path, "transcript.pdf", render_transcript_pdf(snapshot))

    (page,) = pages_text(path)
    assert "暂无记录" in page
    assert "合计0.00.0" in page


def test_learning_file_lists_yearly_totals_and_records(app, tmp_path):
    holder = {"name": "张秀英", "phone": "137****0001", "account_no": "510521-2026-000001"}
    totals = [
        {"year": 2026, "hours": "12.5", "credits": "0.8"},
        {"year": 2025, "hours": "3.0", "credits": "0.2"},
    ]
    items = [
        {
            "occurred_at": "2026-11-01 10:00",
            "kind_label": "课程完成",
            "title": "生猪养殖技术",
            "hours": "8.0",
            "credits": "0.5",
            "detail": "学分已存入账号",
        },
        {
            "occurred_at": "2026-10-08 09:30",
            "kind_label": "报名课程",
            "title": "智能手机<入门>",
            "hours": "",
            "credits": "",
            "detail": "",
        },
    ]
    content = render_learning_file_pdf(
        holder, totals, items, generated_at="2026-11-23T07:20:00+00:00"
    )
    path = write(tmp_path, "learning-file.pdf", content)

    (page,) = pages_text(path)
    for expected in [
        "学习档案",
        "张秀英",
        "510521-2026-000001",
        "生成时间：2026-11-2315:20",  # shown in Asia/Shanghai
        "时间类别内容学时学分说明",
        "202612.50.8",
        "20253.00.2",
        "2026-11-0110:00课程完成生猪养殖技术8.00.5学分已存入账号",
        "2026-10-0809:30报名课程智能手机<入门>",
        "第1页/共1页",
    ]:
        assert expected in page, expected
    assert_fonts_embedded(path)
    page_image(path, 1, "learning-file-page1.png")

"""The demo's media, made when `lms demo load` runs, so a newcomer sees the product at its best:
a cover for every demo course, a PDF document, and a few short video lessons.

Nothing is downloaded or shipped: covers and slides are drawn with Pillow and the embedded
WenQuanYi Micro Hei font (static/fonts/), the narration is spoken in Mandarin by espeak-ng
(Debian's speech synthesiser, installed by .ci/setup), ffmpeg puts each slide and its narration
into a clip of a few seconds, and the clip goes in as any teacher's upload: probed, saved as an
asset, transcoded by the worker (the demo's first start stays quick: three clips of about five
seconds at 480p). The PDF is drawn by reportlab with the same font and attached like any
teacher's document. When espeak-ng or ffmpeg is missing the videos are left out and the rest is
made; ``LMS_DEMO_MEDIA = False`` (the test suite's setting) leaves all of it out.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import current_app

from lms.accounts.models import User
from lms.config import ROOT
from lms.courses import operations as courses
from lms.courses.models import Course
from lms.extensions import db

FONT_FILE = ROOT / "static" / "fonts" / "wqy-microhei.ttc"
SLIDE_SIZE = (854, 480)  # a 480p source: the ladder's three lower rungs, quick to transcode
COVER_SIZE = (960, 540)

# The cover's colours per category (dark enough for white text: at least 4.5:1).
TONES = ["#0f6b63", "#25613a", "#155e75", "#4d5f16", "#2f4f7a", "#7a4f12"]

# (course title, lesson title, slide heading, slide line, narration): at most three.
VIDEOS = [
    (
        "老年人智能手机入门",
        "视频：接听家人的视频电话",
        "接听视频电话",
        "听到铃声，点绿色按钮",
        "家人打来视频电话，点绿色按钮就能接听。",
    ),
    (
        "高血压的预防与管理",
        "视频：每天少吃盐",
        "每天少吃盐",
        "食盐不超过 5 克",
        "每天吃盐不超过五克，血压更平稳。",
    ),
    (
        "太极拳养生",
        "视频：起势要领",
        "太极拳 · 起势",
        "两脚开立，与肩同宽",
        "两脚开立，与肩同宽，两臂慢慢向前平举。",
    ),
]

# (course title, file name, title, lines): a document residents can open on the course page.
DOCUMENT = (
    "高血压的预防与管理",
    "家庭血压记录表.pdf",
    "家庭血压记录表",
    [
        "每天早晚各量一次血压，量前安静休息 5 分钟。",
        "收缩压 ≥ 140 或舒张压 ≥ 90 毫米汞柱，请及时就医。",
        "按时服药，不要自行停药或加减药量。",
    ],
)


def add_demo_media(
    published: Sequence[Course],
    teachers: Sequence[User],
    echo: Callable[[str], None] = print,
) -> None:
    """Covers for *published*, the document and the video lessons (each by the course's first
    teacher, else the first of *teachers*), committed like the demo's other parts: the commit
    sends the transcoding jobs. Called after the demo's learning history, so the videos (optional
    lessons) are not among the lessons its residents learnt."""
    if not current_app.config.get("LMS_DEMO_MEDIA", True):
        return
    add_covers(published)
    from lms.media.operations import add_material, add_video_lesson, save_stream

    by_title = {course.title: course for course in published}
    course_title, filename, title, lines = DOCUMENT
    if course_title in by_title:
        course = by_title[course_title]
        add_material(
            course,
            _owner(course, teachers),
            filename=filename,
            stream=io.BytesIO(draw_pdf(title, lines)),
        )
    missing = [tool for tool in ("espeak-ng", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        echo(
            f"演示视频未生成：缺少 {'、'.join(missing)}。 (demo videos left out: {missing} missing)"
        )
        db.session.commit()
        return
    with tempfile.TemporaryDirectory(prefix="lms-demo-") as folder:
        for number, (course_title, lesson_title, heading, line, narration) in enumerate(VIDEOS):
            course = by_title.get(course_title)
            if course is None:
                continue
            clip = make_clip(Path(folder) / f"demo-{number}.mp4", heading, line, narration)
            owner = _owner(course, teachers)
            with clip.open("rb") as stream:
                asset, _reused = save_stream(owner, filename=clip.name, stream=stream)
            add_video_lesson(course, title=lesson_title, asset=asset, required=False)
    db.session.commit()


def add_covers(published: Sequence[Course]) -> None:
    """A drawn cover for every course of *published* (saved with its smaller copies)."""
    for index, course in enumerate(published):
        tone = TONES[(course.category_id or index) % len(TONES)]
        courses.update_course(
            course,
            title=course.title,
            summary=course.summary,
            category=course.category,
            hours=course.hours,
            cover=io.BytesIO(draw_cover(course.title, course.category.name, tone)),
        )


def _owner(course: Course, teachers: Sequence[User]) -> User:
    return course.teachers[0] if course.teachers else teachers[0]


@functools.cache
def _font_bytes() -> bytes:
    return FONT_FILE.read_bytes()


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(io.BytesIO(_font_bytes()), size, index=0)


def _centred(draw, text: str, y: int, font, width: int, fill: str) -> None:
    left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) // 2, y), text, font=font, fill=fill)


def draw_cover(title: str, category: str, tone: str) -> bytes:
    """A 960×540 PNG: the course title in white on its category's colour."""
    from PIL import Image, ImageDraw

    width, height = COVER_SIZE
    image = Image.new("RGB", COVER_SIZE, tone)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, width - 40, height - 40), outline="#ffffff", width=4)
    size = 72 if len(title) <= 10 else 56
    _centred(draw, title, height // 2 - size, _font(size), width, "#ffffff")
    _centred(draw, category, height // 2 + 50, _font(40), width, "#ffffff")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def draw_slide(heading: str, line: str) -> bytes:
    """A 854×480 PNG slide: a heading and one line, large, dark on light."""
    from PIL import Image, ImageDraw

    width, height = SLIDE_SIZE
    image = Image.new("RGB", SLIDE_SIZE, "#eef8f6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 90), fill="#0f6b63")
    _centred(draw, "泸县城乡居民终身学习网", 24, _font(36), width, "#ffffff")
    _centred(draw, heading, 160, _font(64), width, "#0b3d38")
    _centred(draw, line, 280, _font(48), width, "#17252a")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def make_clip(path: Path, heading: str, line: str, narration: str) -> Path:
    """The slide held for as long as espeak-ng takes to say *narration* (plus half a second),
    as H.264 and AAC in an MP4 at *path*."""
    slide = path.with_suffix(".png")
    speech = path.with_suffix(".wav")
    slide.write_bytes(draw_slide(heading, line))
    espeak, ffmpeg = shutil.which("espeak-ng"), shutil.which("ffmpeg")
    subprocess.run(  # noqa: S603 - Debian's espeak-ng, our own text
        [espeak, "-v", "cmn", "-s", "160", "-w", str(speech), narration],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(  # noqa: S603 - Debian's ffmpeg, our own files
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-loop",
            "1",
            "-framerate",
            "25",
            "-i",
            str(slide),
            "-i",
            str(speech),
            "-filter_complex",
            "[1:a]apad=pad_dur=0.5,aresample=48000[a]",
            "-map",
            "0:v",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "stillimage",
            "-pix_fmt",
            "yuv420p",
            "-r",
            "25",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


def draw_pdf(title: str, lines: Sequence[str]) -> bytes:
    """An A4 PDF with the title, the lines and an empty table of 14 days × morning and evening,
    in the embedded Chinese font (a subset of it)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    font = "LmsDemoCJK"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font, str(FONT_FILE), subfontIndex=0))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    width, height = A4
    canvas.setFont(font, 22)
    canvas.drawCentredString(width / 2, height - 30 * mm, title)
    canvas.setFont(font, 12)
    y = height - 45 * mm
    for line in lines:
        canvas.drawString(20 * mm, y, line)
        y -= 8 * mm
    columns = ["日期", "早上 收缩压/舒张压", "晚上 收缩压/舒张压", "备注"]
    xs = [20 * mm, 45 * mm, 95 * mm, 145 * mm, width - 20 * mm]
    y -= 4 * mm
    row = 10 * mm
    for number in range(15):
        top = y - number * row
        canvas.line(xs[0], top, xs[-1], top)
        if number == 0:
            for x, text in zip(xs, columns, strict=False):
                canvas.drawString(x + 2 * mm, top - 7 * mm, text)
        else:
            canvas.drawString(xs[0] + 2 * mm, top - 7 * mm, f"第 {number} 天")
    bottom = y - 15 * row
    canvas.line(xs[0], bottom, xs[-1], bottom)
    for x in xs:
        canvas.line(x, y, x, bottom)
    canvas.showPage()
    canvas.save()
    return out.getvalue()

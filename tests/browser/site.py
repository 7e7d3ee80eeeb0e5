"""A whole site to walk: the demo county (with fewer generated residents, so it loads in
seconds), plus a video lesson transcoded for real, a document lesson and a transcript, served on
loopback; and every page each role can reach, found from the app's url_map at run time (so new
pages are walked as soon as they exist), with ids of seeded objects filled in.

Used by test_accessibility.py (axe-core on every page) and test_page_weight.py (bytes before
media), through the ``site`` fixture in conftest.py."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import select, text
from werkzeug.routing import Rule

from lms.extensions import db

DEMO_RESIDENTS = 40  # generated residents besides the named ones (the real demo has 1,500)
ROLES = {  # the demo's accounts (README)
    "resident": "13700000001",
    "teacher": "13900000001",
    "registrar": "13800000003",
    "admin": "13800000001",
}
# GET pages that change something or are not pages of their own.
NOT_WALKED = {"accounts.set_language"}
# Ids tried per argument: the first few rows of its table.
IDS_PER_ARGUMENT = 3


@dataclass
class Site:
    app: Flask
    base: str
    passwords: str
    # role -> the URLs that role can open (200, HTML), one per page (endpoint) and lesson kind
    pages: dict[str, list[str]] = field(default_factory=dict)
    unreached: list[str] = field(default_factory=list)  # rules no seeded object opens
    named: dict[str, str] = field(default_factory=dict)  # a few pages by name


def seed(app: Flask) -> dict[str, str]:
    """The demo, a real transcoded video lesson, a document lesson and a transcript."""
    import lms.demo
    from lms.accounts.models import User
    from lms.courses.models import Course
    from lms.credits import operations as credits
    from lms.learning import operations as learning
    from lms.media import operations as media
    from lms.media.demo_media import add_covers, draw_pdf
    from tests.media.clips import make_clip

    lms.demo.MANY_RESIDENTS = DEMO_RESIDENTS
    try:
        lms.demo.load_demo(echo=lambda line: None)
    finally:
        lms.demo.MANY_RESIDENTS = 1500
    add_covers(db.session.scalars(select(Course).order_by(Course.id)).all())  # as the demo has
    course = db.session.scalar(select(Course).filter_by(title="老年人智能手机入门"))
    teacher = course.teachers[0] if course.teachers else db.session.scalar(select(User))
    clip = make_clip(Path(app.instance_path) / "clip.mp4", seconds=2, width=320, height=180)
    with clip.open("rb") as stream:
        asset, _reused = media.save_stream(teacher, filename="手机入门.mp4", stream=stream)
    video = media.add_video_lesson(course, title="视频：接听视频电话", asset=asset)
    document = media.add_document_lesson(
        course,
        teacher,
        title="学习资料：手机常用设置",
        filename="手机常用设置.pdf",
        stream=io.BytesIO(draw_pdf("手机常用设置", ["字体调大：设置 → 显示 → 字体大小。"])),
    )
    db.session.commit()  # the transcode runs now (the queue runs jobs at once in tests)
    resident = db.session.scalar(select(User).filter_by(phone=ROLES["resident"]))
    learning.enrol(resident, course)
    transcript = credits.issue_transcript(resident)
    db.session.commit()
    return {
        "course": f"/courses/{course.id}",
        "video_lesson": f"/lessons/{video.id}",
        "document_lesson": f"/lessons/{document.id}",
        "transcript": transcript.serial,
    }


def is_page_rule(rule: Rule) -> bool:
    """Could this rule answer with a page (not the API, a file, a static file, a switch)?"""
    return not (
        "GET" not in rule.methods
        or rule.endpoint in NOT_WALKED
        or rule.rule.startswith(("/api/", "/static/", "/_", "/.well-known/"))
        or rule.endpoint.endswith("static")
        or re.search(r"\.[a-z<]", rule.rule.rsplit("/", 1)[-1])  # a file: .pdf, .json, .<fmt>
    )


def candidate_urls(app: Flask, rule: Rule) -> Iterator[str]:
    """URLs for *rule* with ids of seeded rows filled in; none when an argument cannot be."""
    if not is_page_rule(rule):
        return
    choices: dict[str, list] = {}
    for argument in rule.arguments:
        values = _values(argument)
        if not values:
            return
        choices[argument] = values
    if not choices:
        yield rule.rule
        return
    for index in range(IDS_PER_ARGUMENT):
        values = {name: options[min(index, len(options) - 1)] for name, options in choices.items()}
        with app.test_request_context():
            from flask import url_for

            yield url_for(rule.endpoint, **values)


def _values(argument: str) -> list:
    tables = db.metadata.tables
    if argument == "serial":
        return list(db.session.scalars(text("SELECT serial FROM transcript ORDER BY id LIMIT 3")))
    if not argument.endswith("_id") and argument not in ("number", "list_no"):
        return []  # file names, formats, codes: not pages
    if argument in ("number", "list_no"):
        return [1]
    name = argument.removesuffix("_id")
    aliases = {"user": "user", "unit": "org_unit", "batch": "import_batch"}
    table = aliases.get(name, name)
    if table not in tables:
        matches = sorted(t for t in tables if t.endswith("_" + name))
        if not matches:
            return []
        table = matches[0]
    quoted = db.engine.dialect.identifier_preparer.quote(table)
    return list(
        db.session.scalars(text(f"SELECT id FROM {quoted} ORDER BY id LIMIT {IDS_PER_ARGUMENT}"))  # noqa: S608 (a table of our own metadata)
    )


def reachable_pages(app: Flask, phone: str | None, password: str) -> tuple[dict[str, str], set]:
    """endpoint -> the first URL of it that answers 200 with a page for this account (None:
    not signed in), and the endpoints none of whose URLs could be filled in."""
    client = app.test_client()
    if phone:
        answer = client.post("/sign-in", data={"phone": phone, "password": password})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    pages: dict[str, str] = {}
    unfilled = set()
    for rule in app.url_map.iter_rules():
        urls = list(dict.fromkeys(candidate_urls(app, rule)))
        if not urls and is_page_rule(rule):
            unfilled.add(rule.rule)
        for url in urls:
            with client.get(url) as response:
                assert response.status_code < 500, (url, response.status_code)
                if response.status_code == 200 and response.mimetype == "text/html":
                    pages[rule.endpoint] = url
                    break
    return pages, unfilled


def discover(app: Flask, password: str, named: dict[str, str]) -> tuple[dict, list]:
    """Each page once, by the first of guest, resident, teacher, registrar and admin that can
    open it; the video and document lessons as well as the text ones."""
    seen: set[str] = set()
    walk: dict[str, list[str]] = {}
    never: set[str] | None = None
    for role, phone in [("guest", None), *ROLES.items()]:
        pages, unfilled = reachable_pages(app, phone, password)
        never = unfilled if never is None else never & unfilled
        walk[role] = [url for endpoint, url in pages.items() if endpoint not in seen]
        seen.update(pages)
    walk["resident"] += [named["video_lesson"], named["document_lesson"]]
    return walk, sorted(never or ())

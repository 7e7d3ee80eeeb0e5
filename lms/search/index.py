"""The Whoosh index: where it lives, what one course's document holds, one writer at a time,
and a searcher per process that is reused and refreshed when the index changes.

Layout of ``LMS_SEARCH_DIR``::

    current -> v-<stamp>     symlink to the live index (swapped atomically by a rebuild)
    v-<stamp>/               a Whoosh index
    building, building.ids   while a rebuild runs: its marker, and the courses changed meanwhile
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import threading
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

from defusedxml import ElementTree
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.index import LockError
from whoosh.searching import Searcher

from lms.accounts.models import Level, OrgUnit
from lms.core.private import make_private
from lms.core.text import plain_text
from lms.courses.models import Course, CourseStatus
from lms.extensions import db
from lms.search.analysis import chinese_analyzer, pinyin_analyzer, setup_jieba, title_pinyin

log = logging.getLogger(__name__)

EXCERPT_CHARS = 4000
MATERIAL_CHARS = 100_000
WRITE_TIMEOUT_S = 30.0


def make_schema() -> Schema:
    chinese = chinese_analyzer()
    pinyin = pinyin_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=chinese, stored=True, field_boost=4.0, spelling=True),
        # Everything a resident might type, the title included, so that all words of a query
        # may be found across title, summary, lessons, teachers, provider and materials.
        content=TEXT(analyzer=chinese),
        title_pinyin=TEXT(analyzer=pinyin, field_boost=2.0),
        title_initials=TEXT(analyzer=pinyin, field_boost=1.5),
        category=ID(stored=True),
        town=ID(stored=True),
        excerpt=STORED(),
        provider=STORED(),
    )


# Where the index lives ------------------------------------------------------------------------


def search_root() -> Path:
    return Path(current_app.config["LMS_SEARCH_DIR"])


def prepare() -> None:
    """jieba's parsed dictionary is cached in the instance folder, loaded once per process."""
    setup_jieba(current_app.instance_path)


def new_version(root: Path) -> Path:
    folder = root / f"v-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    whoosh_index.create_in(str(folder), make_schema())
    return folder


def current_folder(*, create: bool = True) -> Path | None:
    """The live index folder; an empty index is made the first time (by whoever comes first)."""
    root = search_root()
    link = root / "current"
    if link.exists():
        return link.resolve()
    if not create:
        return None
    root.mkdir(parents=True, exist_ok=True)
    folder = new_version(root)
    try:
        os.symlink(folder.name, link)
    except FileExistsError:  # another process won the race: use its index
        shutil.rmtree(folder, ignore_errors=True)
    return link.resolve()


def swap_in(root: Path, folder: Path) -> None:
    """Point ``current`` at *folder* in one step (rename over the old link), then remove the
    versions before the previous one (readers may still be finishing with the previous)."""
    draft = root / f".current-{secrets.token_hex(4)}"
    os.symlink(folder.name, draft)
    previous = (root / "current").resolve() if (root / "current").exists() else None
    os.replace(draft, root / "current")
    keep = {folder.name, previous.name if previous else None}
    for old in root.glob("v-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


# Documents --------------------------------------------------------------------------------------


def town_of(unit: OrgUnit) -> OrgUnit:
    """The town (or the county) a provider belongs to, for the town facet."""
    if unit.level is Level.VILLAGE and unit.parent is not None:
        return unit.parent
    return unit


def course_document(course: Course) -> dict:
    """The one document of a published course."""
    summary = plain_text(course.summary)
    lessons = [f"{lesson.title}：{plain_text(lesson.body)}" for lesson in course.lessons]
    teachers = " ".join(teacher.name for teacher in course.teachers)
    town = town_of(course.provider)
    materials = "\n".join(_material_texts(course))
    content = "\n".join(
        [
            course.title,
            summary,
            *lessons,
            teachers,
            course.provider.name,
            town.name,
            course.category.name,
            materials,
        ]
    )
    title_full, title_short = title_pinyin(course.title)
    return {
        "id": str(course.id),
        "title": course.title,
        "content": content,
        "title_pinyin": title_full,
        "title_initials": title_short,
        "category": str(course.category_id),
        "town": town.name,
        "excerpt": " ".join(" ".join([summary, *lessons]).split())[:EXCERPT_CHARS],
        "provider": course.provider.name,
    }


def _material_texts(course: Course) -> Iterable[str]:
    from lms.core import storage
    from lms.media.models import Material

    materials = db.session.scalars(select(Material).where(Material.course_id == course.id))
    for material in materials:
        yield material.filename
        extract = {"docx": office_text, "pptx": office_text, "pdf": pdf_text}.get(material.kind)
        if extract is None:
            continue
        try:
            yield extract(storage.media_path(material.path))[:MATERIAL_CHARS]
        except Exception:
            log.warning("could not read the text of material %s", material.id, exc_info=True)


def pdf_text(path: Path, *, max_pages: int = 200) -> str:
    """The text layer of a PDF (scanned pages have none), through pypdf."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    return "\n".join(page.extract_text() or "" for page in reader.pages[:max_pages])


def office_text(path: Path) -> str:
    """The text of a DOCX (word/document.xml) or PPTX (its slides). The parts come from uploads,
    so they are parsed with defusedxml: a DTD, entity or external reference is refused (the
    caller logs it and indexes the material without its text)."""
    texts: list[str] = []
    with zipfile.ZipFile(path) as archive:
        parts = [
            name
            for name in archive.namelist()
            if name == "word/document.xml" or re.fullmatch(r"ppt/slides/slide\d+\.xml", name)
        ]
        for name in sorted(parts):
            if archive.getinfo(name).file_size > 20 * 1024**2:
                continue
            root = ElementTree.fromstring(archive.read(name), forbid_dtd=True)
            paragraph: list[str] = []
            for element in root.iter():
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "t" and element.text:
                    paragraph.append(element.text)
                elif tag == "p" and paragraph:
                    texts.append("".join(paragraph))
                    paragraph = []
            if paragraph:
                texts.append("".join(paragraph))
    return "\n".join(texts)


def published_courses() -> Iterable[Course]:
    query = (
        select(Course)
        .where(Course.status == CourseStatus.PUBLISHED)
        .options(
            selectinload(Course.lessons),
            selectinload(Course.teachers),
            selectinload(Course.category),
            selectinload(Course.provider),
        )
        .order_by(Course.id)
        .execution_options(yield_per=200)
    )
    return db.session.scalars(query)


# Writing ---------------------------------------------------------------------------------------


def writer(folder: Path):
    """A writer on *folder*, waiting for the lock (one writer at a time, across processes)."""
    return whoosh_index.open_dir(str(folder)).writer(timeout=WRITE_TIMEOUT_S, delay=0.05)


def update_courses(course_ids: Iterable[int]) -> None:
    """Bring the live index up to date for *course_ids* from the database: published courses
    are (re)written, others removed. A rebuild in progress hears about them too."""
    prepare()
    ids = sorted(set(course_ids))
    root = search_root()
    if (root / "building").exists():
        with open(root / "building.ids", "a") as journal:
            journal.write("".join(f"{course_id}\n" for course_id in ids))
    _write(current_folder(), ids)


def _write(folder: Path, ids: list[int]) -> None:
    courses = {
        course.id: course
        for course in db.session.scalars(select(Course).where(Course.id.in_(ids)))
        if course.status is CourseStatus.PUBLISHED
    }
    documents = {course_id: course_document(course) for course_id, course in courses.items()}
    for attempt in range(3):
        try:
            with writer(folder) as w:
                for course_id in ids:
                    if course_id in documents:
                        w.update_document(**documents[course_id])
                    else:
                        w.delete_by_term("id", str(course_id))
            make_private(search_root())
            return
        except LockError:
            if attempt == 2:
                raise


def rebuild(*, progress=None) -> int:
    """Index every published course into a new folder and swap it in; searches keep using the
    old index until then. Courses changed during the build are written again afterwards."""
    prepare()
    root = search_root()
    root.mkdir(parents=True, exist_ok=True)
    current_folder()
    marker, journal = root / "building", root / "building.ids"
    marker.touch()
    try:
        folder = new_version(root)
        total = db.session.scalar(
            select(func.count()).where(Course.status == CourseStatus.PUBLISHED)
        )
        count = 0
        with writer(folder) as w:
            courses = published_courses()
            for course in progress(courses, total) if progress else courses:
                w.add_document(**course_document(course))
                count += 1
        make_private(root)
        swap_in(root, folder)
    finally:
        marker.unlink(missing_ok=True)
    if journal.exists():
        changed = [int(line) for line in journal.read_text().split()]
        journal.unlink(missing_ok=True)
        db.session.expire_all()
        _write(current_folder(), sorted(set(changed)))
    return count


# Reading --------------------------------------------------------------------------------------

_lock = threading.Lock()
_searchers: dict[str, tuple[Path, Searcher]] = {}


def searcher() -> Searcher:
    """This process's searcher on the live index: reused, refreshed when a writer committed,
    reopened when a rebuild swapped in a new folder."""
    prepare()
    folder = current_folder()
    key = str(search_root())
    with _lock:
        cached = _searchers.get(key)
        if cached is not None and cached[0] == folder and cached[1].up_to_date():
            return cached[1]
        if cached is not None:
            _retire(cached[1])
        # A new searcher rather than ``refresh()``, which reuses segment readers and so may
        # miss deletions in a segment it already had, and ties the old searcher's life to it.
        opened = whoosh_index.open_dir(str(folder)).searcher()
        _searchers[key] = (folder, opened)
        return opened


# Searchers replaced by a fresher one are closed a little later, when no search that started
# with them can still be running.
_retired: list[tuple[float, Searcher]] = []
RETIRE_AFTER_S = 60.0


def _retire(old: Searcher) -> None:
    now = time.monotonic()
    _retired.append((now, old))
    while _retired and now - _retired[0][0] > RETIRE_AFTER_S:
        _retired.pop(0)[1].close()


def close_searchers() -> None:
    """Close every cached searcher (tests, and before a process exits)."""
    with _lock:
        for _folder, cached in _searchers.values():
            cached.close()
        _searchers.clear()
        while _retired:
            _retired.pop()[1].close()

"""The Whoosh index: where it lives, what one course's document holds, one writer at a time,
and a searcher per process that is reused and refreshed when the index changes.

Layout of ``LMS_SEARCH_DIR``::

    current -> v-<stamp>     symlink to the live index (swapped atomically by a rebuild)
    v-<stamp>/               a Whoosh index, its word list (words.txt) and format (format)
    building, building.ids   while a rebuild runs: its marker, and the courses changed meanwhile
    rebuild.lock             held by the one rebuild that may run at a time
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
import threading
import time
import zipfile
from collections.abc import Iterable
from contextlib import contextmanager
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
from lms.search.analysis import (
    bigram_analyzer,
    chinese_analyzer,
    dictionary_text,
    pinyin_analyzer,
    pinyin_terms,
    register,
    setup_jieba,
)
from lms.search.models import SearchWord

log = logging.getLogger(__name__)

EXCERPT_CHARS = 4000
MATERIAL_CHARS = 100_000
WRITE_TIMEOUT_S = 30.0
# What a document holds; an index of another format is rebuilt at the next index update.
FORMAT = "2"


def make_schema(digest: str | None = None) -> Schema:
    """The fields of a course's document; *digest* names the word list its text is cut with."""
    chinese = chinese_analyzer(digest)
    pinyin = pinyin_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=chinese, stored=True, field_boost=4.0, spelling=True),
        # Everything a resident might type, the title included, so that all words of a query
        # may be found across title, summary, lessons, teachers, provider and materials.
        content=TEXT(analyzer=chinese),
        # The recall net: every two characters of the titles, lesson titles and category.
        grams=TEXT(analyzer=bigram_analyzer(), field_boost=0.3),
        # Pinyin of every word of the title, and of the lesson titles and category, below it
        # (analysis.pinyin_terms).
        title_pinyin=TEXT(analyzer=pinyin, field_boost=2.0),
        title_initials=TEXT(analyzer=pinyin, field_boost=1.5),
        heading_pinyin=TEXT(analyzer=pinyin, field_boost=0.6),
        heading_initials=TEXT(analyzer=pinyin, field_boost=0.5),
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


def admin_words() -> list[str]:
    """The words county administrators added, as word-list lines (``word`` or ``word freq``)."""
    rows = db.session.execute(select(SearchWord.word, SearchWord.freq).order_by(SearchWord.word))
    return [word if freq is None else f"{word} {freq}" for word, freq in rows]


def current_dictionary() -> str:
    """The word list a new index is built with: words.txt and the administrators' words."""
    return dictionary_text(admin_words())


def new_version(root: Path, dictionary: str | None = None) -> Path:
    """A new, empty index folder cut with the word list *dictionary* (default: the current one)."""
    dictionary = current_dictionary() if dictionary is None else dictionary
    folder = root / f"v-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    (folder / "words.txt").write_text(dictionary, encoding="utf-8")
    (folder / "format").write_text(FORMAT)
    whoosh_index.create_in(str(folder), make_schema(register(dictionary)))
    return folder


def open_index(folder: Path):
    """The Whoosh index in *folder*, its word list made known to this process first."""
    words = folder / "words.txt"
    if words.exists():
        register(words.read_text(encoding="utf-8"))
    return whoosh_index.open_dir(str(folder))


def is_outdated(folder: Path) -> bool:
    """Whether *folder* was built by another format or with another word list than now."""
    try:
        fmt = (folder / "format").read_text()
        words = (folder / "words.txt").read_text(encoding="utf-8")
    except OSError:
        return True
    return fmt != FORMAT or words != current_dictionary()


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


def course_document(course: Course, digest: str | None = None) -> dict:
    """The one document of a published course (*digest*: the index's word list)."""
    return make_document(
        course_id=course.id,
        title=course.title,
        summary=plain_text(course.summary),
        lessons=[(lesson.title, plain_text(lesson.body)) for lesson in course.lessons],
        teachers=[teacher.name for teacher in course.teachers],
        provider=course.provider.name,
        town=town_of(course.provider).name,
        category_id=course.category_id,
        category=course.category.name,
        materials="\n".join(_material_texts(course)),
        digest=digest,
    )


def make_document(
    *,
    course_id: int,
    title: str,
    summary: str,
    lessons: list[tuple[str, str]],
    teachers: list[str],
    provider: str,
    town: str,
    category_id: int,
    category: str,
    materials: str = "",
    digest: str | None = None,
) -> dict:
    """A course's document from plain texts (the benchmark builds its documents here too)."""
    lesson_texts = [f"{lesson_title}：{body}" for lesson_title, body in lessons]
    content = "\n".join(
        [title, summary, *lesson_texts, " ".join(teachers), provider, town, category, materials]
    )
    headings = [*(lesson_title for lesson_title, _body in lessons), category]
    full, initials = pinyin_terms([title], digest)
    heading_full, heading_initials = pinyin_terms(headings, digest, title=False)
    return {
        "id": str(course_id),
        "title": title,
        "content": content,
        "grams": "\n".join([title, *headings]),
        "title_pinyin": full,
        "title_initials": initials,
        "heading_pinyin": heading_full,
        "heading_initials": heading_initials,
        "category": str(category_id),
        "town": town,
        "excerpt": " ".join(" ".join([summary, *lesson_texts]).split())[:EXCERPT_CHARS],
        "provider": provider,
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


def folder_digest(folder: Path) -> str | None:
    """The digest of the word list *folder* was built with (None for an index from before)."""
    words = folder / "words.txt"
    return register(words.read_text(encoding="utf-8")) if words.exists() else None


def writer(folder: Path):
    """A writer on *folder*, waiting for the lock (one writer at a time, across processes)."""
    return open_index(folder).writer(timeout=WRITE_TIMEOUT_S, delay=0.05)


@contextmanager
def rebuild_lock(root: Path, *, wait: bool = True):
    """Held by the one rebuild that runs at a time; yields False when *wait* is off and another
    process holds it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "rebuild.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_courses(course_ids: Iterable[int]) -> None:
    """Bring the live index up to date for *course_ids* from the database: published courses
    are (re)written, others removed. A rebuild in progress hears about them too. An index of
    an older format, or built with another word list than the administrators' words of now, is
    rebuilt instead (this is how new dictionary words take effect)."""
    prepare()
    ids = sorted(set(course_ids))
    root = search_root()
    folder = current_folder()
    if is_outdated(folder):
        with rebuild_lock(root, wait=False) as mine:
            if mine:
                rebuild(locked=True)
                return
    if (root / "building").exists():
        with open(root / "building.ids", "a") as journal:
            journal.write("".join(f"{course_id}\n" for course_id in ids))
    _write(current_folder(), ids)


def _write(folder: Path, ids: list[int]) -> None:
    digest = folder_digest(folder)
    courses = {
        course.id: course
        for course in db.session.scalars(select(Course).where(Course.id.in_(ids)))
        if course.status is CourseStatus.PUBLISHED
    }
    documents = {
        course_id: course_document(course, digest) for course_id, course in courses.items()
    }
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


def rebuild(*, progress=None, locked: bool = False) -> int:
    """Index every published course into a new folder, cut with the current word list, and
    swap it in; searches keep using the old index until then. Courses changed during the build
    are written again afterwards. One rebuild at a time (*locked*: the caller holds the lock)."""
    prepare()
    root = search_root()
    if not locked:
        with rebuild_lock(root):
            return rebuild(progress=progress, locked=True)
    current_folder()
    marker, journal = root / "building", root / "building.ids"
    marker.touch()
    try:
        folder = new_version(root)
        digest = folder_digest(folder)
        total = db.session.scalar(
            select(func.count()).where(Course.status == CourseStatus.PUBLISHED)
        )
        count = 0
        with writer(folder) as w:
            courses = published_courses()
            for course in progress(courses, total) if progress else courses:
                w.add_document(**course_document(course, digest))
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
        opened = open_index(folder).searcher()
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

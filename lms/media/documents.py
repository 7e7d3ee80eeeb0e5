"""Checking documents by their content, not only their name: a PDF starts with %PDF-, and an
Office Open XML file is a ZIP whose parts say which application it belongs to. Pages are counted
(PDF pages, slides, sheets, a Word file's own page count) for the reading time of a lesson."""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

log = logging.getLogger(__name__)

# kind → (extensions, the part a genuine file of that kind always has, MIME type)
KINDS = {
    "pdf": ((".pdf",), None, "application/pdf"),
    "docx": (
        (".docx",),
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "pptx": (
        (".pptx",),
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    "xlsx": (
        (".xlsx",),
        "xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}


class NotADocument(ValueError):
    """The file is not what its name says, or not a supported document at all."""


def kind_of(path: Path, filename: str) -> str:
    """The document kind of the file at *path*, which must agree with *filename*'s extension."""
    suffix = Path(filename).suffix.lower()
    expected = next(
        (kind for kind, (suffixes, _part, _mime) in KINDS.items() if suffix in suffixes), None
    )
    if expected is None:
        raise NotADocument("unsupported extension")
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if expected == "pdf":
        if b"%PDF-" not in head:
            raise NotADocument("not a PDF")
        return "pdf"
    if not head.startswith(b"PK\x03\x04"):
        raise NotADocument("not an Office Open XML file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as error:
        raise NotADocument("damaged archive") from error
    if "[Content_Types].xml" not in names or KINDS[expected][1] not in names:
        raise NotADocument("content does not match the name")
    return expected


# Names of PDF actions that run something: JavaScript, launching a program or opening a file,
# submitting a form or importing data, and rich media or 3D content with scripts of their own.
ACTIVE_PDF_NAMES = {
    "/JavaScript",
    "/JS",
    "/Launch",
    "/SubmitForm",
    "/ImportData",
    "/RichMedia",
    "/GoToE",
}
_ACTIVE_BYTES = re.compile(rb"/(?:JavaScript|JS|Launch|SubmitForm|ImportData|RichMedia)\b")


def has_active_content(path: Path) -> bool:
    """Does the PDF at *path* carry scripts or actions that run or launch something? Looks at
    the raw bytes and at every object pypdf can reach (compressed object streams included);
    a file pypdf cannot read is judged by its bytes alone."""
    with open(path, "rb") as handle:
        tail = b""
        while chunk := handle.read(1024 * 1024):  # in pieces, overlapping by a name's length
            if _ACTIVE_BYTES.search(tail + chunk):
                return True
            tail = chunk[-16:]
    try:
        reader = PdfReader(path)
        return _walk_for_active(reader.trailer, set())
    except Exception:  # unreadable structure: the byte scan above is all we can say
        log.info("could not walk the objects of %s", path, exc_info=True)
        return False


def _walk_for_active(node, seen: set, depth: int = 0) -> bool:
    if depth > 60:
        return False
    if isinstance(node, IndirectObject):
        key = node.idnum, node.generation
        if key in seen:
            return False
        seen.add(key)
        node = node.get_object()
    if isinstance(node, NameObject):
        return str(node) in ACTIVE_PDF_NAMES
    if isinstance(node, DictionaryObject):
        for key, value in node.items():
            if key in ACTIVE_PDF_NAMES or _walk_for_active(value, seen, depth + 1):
                return True
    elif isinstance(node, ArrayObject):
        return any(_walk_for_active(item, seen, depth + 1) for item in node)
    return False


def mimetype(kind: str) -> str:
    return KINDS[kind][2]


def count_pages(path: Path, kind: str) -> int | None:
    """Pages of the document at *path* (slides of a presentation, sheets of a workbook; a Word
    file's page count as its application last saved it), or None when it cannot be told. Never
    raises: a count is a help for reading-time estimates, not a check of the file."""
    try:
        if kind == "pdf":
            return len(PdfReader(path).pages) or None
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if kind == "pptx":
                slides = [n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
                return len(slides) or None
            if kind == "xlsx":
                sheets = [n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
                return len(sheets) or None
            if kind == "docx" and "docProps/app.xml" in names:
                # A small part; its <Pages> is what Word counted when it saved the file.
                with archive.open("docProps/app.xml") as part:
                    found = re.search(rb"<(?:\w+:)?Pages>\s*(\d+)\s*<", part.read(1024 * 1024))
                return (int(found.group(1)) or None) if found else None
    except Exception:  # a damaged or unusual file just has no count
        log.info("could not count the pages of %s", path, exc_info=True)
    return None

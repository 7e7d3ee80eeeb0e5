"""Checking documents by their content, not only their name: a PDF starts with %PDF-, and an
Office Open XML file is a ZIP whose parts say which application it belongs to."""

from __future__ import annotations

import zipfile
from pathlib import Path

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


def mimetype(kind: str) -> str:
    return KINDS[kind][2]

"""Tables out: one download helper for every admin table (.xlsx by openpyxl, or CSV that Chinese
Excel opens), with text cells neutralised against formula injection (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from flask import Response, abort

from lms.core.files import attachment

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# A spreadsheet reads a cell starting with one of these as a formula (tab and CR too: some
# programs strip them and then see the character after).
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """*value* as a cell: numbers and dates stay what they are; text that a spreadsheet would
    run as a formula gets a leading apostrophe; None becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float, datetime, date)):
        return value
    text = str(value)
    if text.startswith(_DANGEROUS):
        return "'" + text
    return text


def download(
    headers: Sequence[str], rows: Iterable[Sequence[object]], filename: str, fmt: str
) -> Response:
    """The table as a download named *filename* (the extension is added); *fmt* is "xlsx" or
    "csv" (UTF-8 with a BOM). Another format is a 404: it comes from the address."""
    if fmt not in FORMATS:
        abort(404)
    name = filename if filename.endswith("." + fmt) else f"{filename}.{fmt}"
    body = _xlsx(headers, rows) if fmt == "xlsx" else _csv(headers, rows)
    return attachment(body, name, FORMATS[fmt])


def _csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_text(safe_cell(cell)) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_text(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _xlsx(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        values = []
        for value in row:
            value = safe_cell(value)
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)  # Excel has no time zones (stored as UTC)
            if isinstance(value, str):
                # openpyxl would store "=..." as a formula; our text is text.
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                values.append(cell)
            else:
                values.append(value)
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

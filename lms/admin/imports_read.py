"""Reading a roll of residents from an uploaded .xlsx or .csv into rows of text, refusing what is
not a roll with one clear message (ImportFileError). Nothing here touches the database.

Hostile files are expected: a renamed picture, an old .xls, a zip bomb, a sheet with a million
empty rows, formulas, merged cells, hidden sheets, headers in another order or with spaces,
CSV in GBK as Chinese Excel saves it."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MAX_BYTES = 10 * 1024 * 1024  # a roll of 20,000 residents is about 1 MB as .xlsx
MAX_UNZIPPED = 200 * 1024 * 1024
MAX_ROWS = 20_000
EMPTY_RUN = 1_000  # this many empty rows in a row end the data (Excel's "used range" lies)
MAX_COLUMNS = 50
MAX_CELL = 200

# The template's columns: key -> (header, required)
COLUMNS = {
    "name": (_l("姓名"), True),
    "phone": (_l("手机号"), True),
    "village": (_l("村(社区)"), True),
    "birth_year": (_l("出生年份"), False),
    "gender": (_l("性别"), False),
    "id_number": (_l("身份证号"), False),
}
HEADER_ALIASES = {
    "姓名": "name",
    "名字": "name",
    "手机号": "phone",
    "手机": "phone",
    "手机号码": "phone",
    "村(社区)": "village",
    "村（社区）": "village",
    "村": "village",
    "社区": "village",
    "村社区": "village",
    "村(社区)名称或编码": "village",
    "出生年份": "birth_year",
    "出生年": "birth_year",
    "性别": "gender",
    "身份证号": "id_number",
    "身份证": "id_number",
    "身份证号码": "id_number",
}


class ImportFileError(Exception):
    """The file cannot be read as a roll; *status* is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class Table:
    """The roll: for each data row, its number in the sheet (the header is row 1 when it is the
    first line) and its cells by column key; *notes* say what was ignored."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    formulas: list[tuple[int, str]] = field(default_factory=list)  # (row, column key)
    notes: list[str] = field(default_factory=list)


def header_key(text: object) -> str | None:
    """The column a header names: spaces, full-width forms and a required-mark * do not matter."""
    if text is None:
        return None
    name = unicodedata.normalize("NFKC", str(text))
    name = "".join(name.split()).replace("*", "").replace("＊", "")
    return HEADER_ALIASES.get(name)


def read_table(data: bytes, filename: str) -> Table:
    """The roll in *data* (an upload named *filename*)."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _("文件太大（上限 %(n)s MB），请分成几个文件导入", n=MAX_BYTES // (1024 * 1024)), 413
        )
    if not data.strip():
        raise ImportFileError(_("文件是空的"))
    lower = filename.lower()
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入"), 415
        )
    if lower.endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("文件不是有效的 Excel（.xlsx）表格，可能已损坏"), 415)
    return _read_csv(data)


# .xlsx ---------------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportFileError(_("文件不是有效的 Excel（.xlsx）表格，可能已损坏"), 415) from None
    if "xl/workbook.xml" not in names:
        raise ImportFileError(_("文件不是 Excel（.xlsx）表格"), 415)
    if unzipped > MAX_UNZIPPED:
        raise ImportFileError(_("表格解压后过大，请只保留居民名单后再导入"), 413)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a broken file
        raise ImportFileError(_("文件不是有效的 Excel（.xlsx）表格，可能已损坏"), 415) from None
    table = Table()
    try:
        visible = [sheet for sheet in book.worksheets if sheet.sheet_state == "visible"]
        if not visible:
            raise ImportFileError(_("表格里没有可见的工作表"))
        if len(book.worksheets) > len(visible):
            table.notes.append(_("已忽略隐藏的工作表"))
        if len(visible) > 1:
            table.notes.append(
                _("只读取了第一个工作表“%(name)s”，其余工作表已忽略", name=visible[0].title)
            )
        try:
            _fill(table, _xlsx_rows(visible[0], table))
        except ImportFileError:
            raise
        except Exception:
            raise ImportFileError(_("表格内容无法读取，可能已损坏"), 422) from None
    finally:
        book.close()
    return table


def _xlsx_rows(sheet, table: Table):
    for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
        values = []
        for cell in row:
            value = getattr(cell, "value", None)
            if getattr(cell, "data_type", None) == "f":
                values.append(_FORMULA)
            else:
                values.append(_text(value))
        yield number, values


_FORMULA = object()


def _text(value: object) -> str:
    """A cell as the text a person typed: 13800000000.0 -> "13800000000", dates -> year."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return str(value.year)
    return str(value).strip()[:MAX_CELL]


# .csv ----------------------------------------------------------------------------------------


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data[:4096]:
        raise ImportFileError(_("文件不是表格（支持 .xlsx 和 .csv）"), 415)
    if data.startswith(b"\xef\xbb\xbf"):
        text = _decode(data[3:], "utf-8")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode(data, "gb18030")  # GBK as Chinese Excel saves CSV, and more
    if any(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t" for ch in text[:4096]):
        raise ImportFileError(_("文件不是表格（支持 .xlsx 和 .csv）"), 415)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    table = Table()
    try:
        _fill(
            table,
            (
                (n, [c.strip()[:MAX_CELL] for c in row[:MAX_COLUMNS]])
                for n, row in enumerate(reader, start=1)
            ),
        )
    except csv.Error:
        raise ImportFileError(_("CSV 文件格式有误，无法读取"), 422) from None
    return table


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise ImportFileError(
            _("无法识别文件的文字编码，请保存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx"), 415
        ) from None


# Both ----------------------------------------------------------------------------------------


def _fill(table: Table, rows) -> None:
    """Find the header (the first row with anything in it), then collect the data rows up to a
    long run of empty ones."""
    keys: list[str | None] | None = None
    empty_run = 0
    for number, values in rows:
        if not any(v is _FORMULA or v for v in values):
            empty_run += 1
            if empty_run >= EMPTY_RUN and keys is not None:
                break
            if empty_run >= EMPTY_RUN * 10:
                break
            continue
        empty_run = 0
        if keys is None:
            keys = _header(values)
            table.columns = [k for k in keys if k]
            continue
        if len(table.rows) >= MAX_ROWS:
            raise ImportFileError(
                _("文件超过 %(n)s 行居民数据，请分成几个文件导入", n=MAX_ROWS), 413
            )
        row: dict[str, str] = {}
        for key, value in zip(keys, values, strict=False):
            if key is None:
                continue
            if value is _FORMULA:
                table.formulas.append((number, key))
                row[key] = ""
            else:
                row[key] = value
        table.rows.append((number, row))
    if keys is None:
        raise ImportFileError(_("表格里没有内容"))
    if not table.rows:
        raise ImportFileError(_("表格里只有表头，没有居民数据"))


def _header(values: list) -> list[str | None]:
    keys: list[str | None] = []
    unknown: list[str] = []
    for value in values:
        text = "" if value is _FORMULA else value
        key = header_key(text)
        if key is None and text:
            unknown.append(text)
        if key is not None and key in keys:
            raise ImportFileError(_("表头“%(name)s”出现了两次", name=str(COLUMNS[key][0])))
        keys.append(key)
    missing = [
        str(header) for key, (header, required) in COLUMNS.items() if required and key not in keys
    ]
    if missing:
        expected = "、".join(str(header) for header, _required in COLUMNS.values())
        message = _(
            "表头缺少“%(missing)s”。第一行应为表头：%(expected)s（顺序不限）。请使用下载的模板。",
            missing="”“".join(missing),
            expected=expected,
        )
        if unknown:
            message += " " + _("无法识别的表头：%(names)s", names="、".join(unknown[:5]))
        raise ImportFileError(message)
    return keys

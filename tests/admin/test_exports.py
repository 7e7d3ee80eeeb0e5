"""The table download helper: both formats, Chinese names, formula injection neutralised."""

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from werkzeug.exceptions import NotFound

from lms.admin.exports import download

HEADERS = ["姓名", "说明", "人数"]
ROWS = [
    ["王芳", "=1+2", 3],
    ["李四", "+86 138", 0],
    ["@SUM(A1)", "-5", -5],
    ["\tcmd", "\r=x", None],
    ["张三", datetime(2026, 11, 30, 8, 0, tzinfo=UTC), 1.5],
]


def test_csv_has_a_bom_and_neutralises_formulas(app):
    with app.test_request_context():
        response = download(HEADERS, ROWS, "参与率-福集镇", "csv")
    assert response.mimetype == "text/csv"
    assert "filename*=UTF-8''%E5%8F%82" in response.headers["Content-Disposition"]
    assert ".csv" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert rows[1] == ["王芳", "'=1+2", "3"]
    assert rows[2] == ["李四", "'+86 138", "0"]
    assert rows[3] == ["'@SUM(A1)", "'-5", "-5"]  # a number stays a number
    assert rows[4] == ["'\tcmd", "'\r=x", ""]
    assert rows[5][1] == "2026-11-30 08:00:00"


def test_xlsx_keeps_numbers_and_stores_text_as_text(app):
    with app.test_request_context():
        response = download(HEADERS, ROWS, "参与率", "xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADERS
    assert values[1] == ["王芳", "'=1+2", 3]
    assert values[3] == ["'@SUM(A1)", "'-5", -5]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert values[5][1] == datetime(2026, 11, 30, 8, 0)


def test_an_unknown_format_is_a_404(app):
    with app.test_request_context(), pytest.raises(NotFound):
        download(HEADERS, ROWS, "x", "pdf")

"""PDF renderings of the credit bank: the transcript (学分证明) and the learning file (学习档案).

Both embed a subset of WenQuanYi Micro Hei (static/fonts/, Apache-2.0), a TrueType-outline CJK
font that also has Latin letters and digits. reportlab's built-in STSong-Light is never used: it
is not embedded, so a reader without the Adobe Asian font pack sees boxes or nothing, and the
document looks different wherever it is opened. reportlab subsets TrueType fonts with a ToUnicode
map, so the text can be searched and copied (and checked with ``pdftotext``).

The renderers take plain JSON-like values (the transcript's stored snapshot, the learning file's
rows) and read nothing from the database, so a reissued PDF shows what was signed.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import segno
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from lms.config import ROOT
from lms.core.time import format_local

FONT_NAME = "LmsCJK"
FONT_FILE = ROOT / "static" / "fonts" / "wqy-microhei.ttc"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 20 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
ACCENT = colors.HexColor("#1d4e89")
RULE = colors.HexColor("#c3cbd3")
HEAD_FILL = colors.HexColor("#e6edf5")
STRIPE_FILL = colors.HexColor("#f6f8fa")

QR_QUIET_MODULES = 2  # the white margin around the code, in modules (the cell adds more)


@functools.cache
def register_font() -> str:
    """Register the embedded CJK font with reportlab (once per process); return its name."""
    # Parsing the 5 MB collection takes a moment, so it happens on first use, not at import.
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_FILE), subfontIndex=0))
    return FONT_NAME


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    # CJK word wrap breaks between any two characters: Chinese has no spaces to break at, and a
    # long URL or serial must wrap too rather than run out of its cell.
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=14, textColor=INK)
    base.wordWrap = "CJK"
    return {
        "issuer": ParagraphStyle(
            "issuer", base, fontSize=11, leading=15, textColor=ACCENT, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title", base, fontSize=24, leading=30, alignment=TA_CENTER, spaceBefore=2
        ),
        "heading": ParagraphStyle(
            "heading", base, fontSize=11, leading=15, textColor=ACCENT, spaceBefore=4
        ),
        "body": base,
        "label": ParagraphStyle("label", base, fontSize=9, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=9, leading=12),
        "small": ParagraphStyle("small", base, fontSize=7.5, leading=10, textColor=MUTED),
        "caption": ParagraphStyle(
            "caption", base, fontSize=9, leading=12, textColor=MUTED, alignment=TA_CENTER
        ),
    }


def render_transcript_pdf(snapshot: dict[str, Any]) -> bytes:
    """The transcript *snapshot* (format ``lms-transcript/1``) as an A4 PDF: holder, certified
    entries with totals, serial, issue time and a QR code of the public verify address."""
    styles = _styles()
    issuer = snapshot["issuer"]["name"]
    serial = snapshot["serial"]
    story: list[Flowable] = [
        *_title_block(f"{issuer} · {_('学分银行')}", _("学分证明")),
        _holder_block(snapshot["holder"]),
        Spacer(1, 4 * mm),
        _paragraph(
            _("兹证明该学习者的下列学习成果已经认证，并按学分银行的转换规则计入其学分账号。"),
            styles["body"],
        ),
        Spacer(1, 3 * mm),
        _data_table(
            [_("日期"), _("学习成果"), _("类别"), _("学时"), _("学分"), _("认证单位")],
            [
                [
                    entry["date"],
                    entry["title"],
                    entry.get("kind_label") or entry.get("kind", ""),
                    entry["hours"],
                    entry["credits"],
                    entry.get("certified_by", ""),
                ]
                for entry in snapshot["entries"]
            ],
            widths=[22 * mm, None, 22 * mm, 14 * mm, 14 * mm, 38 * mm],
            numeric=(3, 4),
            total=[_("合计"), "", "", snapshot["total_hours"], snapshot["total_credits"], ""],
        ),
        Spacer(1, 8 * mm),
        _verification_block(
            [
                (_("证明编号"), serial),
                (_("核验码"), _verification_code(snapshot["verify_url"])),
                (_("签发时间"), _display_time(snapshot["issued_at"])),
                (_("签发单位"), issuer),
                *_checkpoint_fact(snapshot.get("checkpoint")),
            ],
            snapshot["verify_url"],
        ),
    ]
    return _build_pdf(
        story,
        title=f"{_('学分证明')} {serial}",
        author=issuer,
        # Every page names the document and its holder, in case the pages come apart.
        footer=f"{issuer} · {_('学分证明')} {serial} · {snapshot['holder']['name']}",
    )


def _checkpoint_fact(checkpoint: Any) -> list[tuple[str, str]]:
    """The ledger checkpoint a transcript was issued under (none on older transcripts)."""
    if not isinstance(checkpoint, dict):
        return []
    return [
        (
            _("账本检查点"),
            _(
                "第 %(number)s 号（%(root)s…）",
                number=checkpoint.get("number"),
                root=str(checkpoint.get("root", ""))[:16],
            ),
        )
    ]


def render_learning_file_pdf(
    holder: dict[str, Any],
    totals: list[dict[str, Any]],
    items: list[dict[str, Any]],
    *,
    generated_at: str,
) -> bytes:
    """A resident's learning file (学习档案) as an A4 PDF: yearly totals, then every record in
    time order. *generated_at* is shown as given (or in the display zone when it is an aware
    ISO time)."""
    styles = _styles()
    site = _("泸县城乡居民终身学习网")
    story: list[Flowable] = [
        *_title_block(site, _("学习档案")),
        _holder_block(holder),
        Spacer(1, 2 * mm),
        _paragraph(_("生成时间：%(time)s", time=_display_time(generated_at)), styles["label"]),
        _paragraph(_("按年度汇总"), styles["heading"]),
        Spacer(1, 2 * mm),
        _data_table(
            [_("年度"), _("学时"), _("学分")],
            [[str(row["year"]), row["hours"], row["credits"]] for row in totals],
            widths=[30 * mm, 30 * mm, 30 * mm],
            numeric=(1, 2),
            align_left=True,
        ),
        Spacer(1, 4 * mm),
        _paragraph(_("学习记录"), styles["heading"]),
        Spacer(1, 2 * mm),
        _data_table(
            [_("时间"), _("类别"), _("内容"), _("学时"), _("学分"), _("说明")],
            [
                [
                    _display_time(item["occurred_at"]),
                    item["kind_label"],
                    item["title"],
                    item.get("hours", ""),
                    item.get("credits", ""),
                    item.get("detail", ""),
                ]
                for item in items
            ],
            widths=[31 * mm, 20 * mm, None, 14 * mm, 14 * mm, 40 * mm],
            numeric=(3, 4),
            plain=(0, 1),
        ),
    ]
    title = f"{_('学习档案')} · {holder['name']}"
    return _build_pdf(story, title=title, author=site, footer=f"{site} · {title}")


# Building blocks shared by both documents.


def _paragraph(text: object, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (None shows as nothing): Paragraph reads markup, so data must
    never reach it raw."""
    return Paragraph(escape("" if text is None else str(text)), style)


def _title_block(heading: str, title: str) -> list[Flowable]:
    styles = _styles()
    return [
        _paragraph(heading, styles["issuer"]),
        Spacer(1, 2 * mm),
        _paragraph(title, styles["title"]),
        Spacer(1, 2 * mm),
        HRFlowable(width="100%", thickness=1.2, color=ACCENT, spaceBefore=1 * mm),
        HRFlowable(width="100%", thickness=0.4, color=ACCENT, spaceBefore=0.6 * mm),
        Spacer(1, 4 * mm),
    ]


def _table_style(commands: list[tuple[Any, ...]]) -> TableStyle:
    """*commands* with our font for every plain-text cell: reportlab's default is Helvetica,
    which has no Chinese and would be named (unembedded) in the PDF even for an empty cell."""
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), register_font(), 9),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            *commands,
        ]
    )


def _holder_block(holder: dict[str, Any]) -> Table:
    """Name, masked phone and account number on one shaded line."""
    styles = _styles()
    pairs = [
        (_("姓名"), holder["name"]),
        (_("手机号"), holder.get("phone") or "—"),
        (_("学分账号"), holder["account_no"]),
    ]
    cells: list[Paragraph] = []
    for label, value in pairs:
        cells += [_paragraph(label, styles["label"]), _paragraph(value, styles["body"])]
    widths = [13 * mm, 30 * mm, 15 * mm, 32 * mm, 18 * mm]
    table = Table([cells], colWidths=[*widths, CONTENT_WIDTH - sum(widths)])
    table.setStyle(
        _table_style(
            [
                ("BACKGROUND", (0, 0), (-1, -1), STRIPE_FILL),
                ("BOX", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _data_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    widths: Sequence[float | None],
    numeric: Sequence[int] = (),
    plain: Sequence[int] = (),
    total: Sequence[object] | None = None,
    align_left: bool = False,
) -> Table:
    """A ruled table whose header repeats on every page. Cells wrap inside their column;
    *numeric* columns are right-aligned; *numeric* and *plain* columns hold short text that
    never wraps (a plain string lays out far faster than a Paragraph); *total* is a shaded last row whose first cell spans up
    to the first non-empty one."""
    styles = _styles()
    fixed = sum(width for width in widths if width is not None)
    flexible = [width is None for width in widths].count(True)
    col_widths = [
        width if width is not None else (CONTENT_WIDTH - fixed) / flexible for width in widths
    ]

    def cell(value: object, column: int) -> Paragraph | str:
        if column in numeric or column in plain:
            return str(value)
        return _paragraph(value, styles["cell"])

    data: list[list[object]] = [list(header)]
    data += [[cell(value, column) for column, value in enumerate(row)] for row in rows]
    commands: list[tuple[Any, ...]] = [
        ("TEXTCOLOR", (0, 0), (-1, 0), ACCENT),
        ("ALIGN", (0, 0), (-1, 0), "CENTER"),
        *(("ALIGN", (column, 0), (column, -1), "RIGHT") for column in numeric),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        ("LINEABOVE", (0, 0), (-1, 0), 0.9, ACCENT),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if rows:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, len(rows)), [colors.white, STRIPE_FILL]))
    else:
        data.append([_paragraph(_("暂无记录"), styles["caption"])] + [""] * (len(header) - 1))
        commands.append(("SPAN", (0, 1), (-1, 1)))
    if total is not None:
        data.append([cell(value, column) for column, value in enumerate(total)])
        span_to = next((column - 1 for column, value in enumerate(total) if column and value), 0)
        commands += [
            ("BACKGROUND", (0, -1), (-1, -1), HEAD_FILL),
            ("LINEABOVE", (0, -1), (-1, -1), 0.6, ACCENT),
            ("LINEBELOW", (0, -1), (-1, -1), 0.9, ACCENT),
            ("SPAN", (0, -1), (span_to, -1)),
        ]
    else:
        commands.append(("LINEBELOW", (0, -1), (-1, -1), 0.9, ACCENT))
    table = Table(
        data,
        colWidths=col_widths,
        repeatRows=1,
        hAlign="LEFT" if align_left else "CENTER",
    )
    table.setStyle(_table_style(commands))
    return table


def _verification_code(verify_url: str) -> str:
    """The code in the verify link, printed on its own so it can be typed in at /verify."""
    return parse_qs(urlsplit(verify_url).query).get("code", [""])[0]


def _verification_block(facts: Sequence[tuple[str, str]], verify_url: str) -> KeepTogether:
    """Serial, time and issuer beside the QR code of the verify address, kept on one page."""
    styles = _styles()
    qr_size = 32 * mm
    lines: list[Flowable] = []
    for label, value in facts:
        lines.append(_paragraph(f"{label}：{value}", styles["body"]))
    lines += [
        Spacer(1, 3 * mm),
        _paragraph(
            _("本证明附有平台的电子签名。扫描右侧二维码或打开下面的网址，可核验证明的真伪和内容。"),
            styles["label"],
        ),
        Spacer(1, 1 * mm),
        _paragraph(verify_url, styles["small"]),
    ]
    qr = [_QrCode(verify_url, qr_size), _paragraph(_("扫码核验"), styles["caption"])]
    table = Table(
        [[lines, qr]],
        colWidths=[CONTENT_WIDTH - qr_size - 12 * mm, qr_size + 12 * mm],
    )
    table.setStyle(
        _table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("LINEBEFORE", (1, 0), (1, 0), 0.3, RULE),
            ]
        )
    )
    return KeepTogether([table])


class _QrCode(Flowable):
    """A QR code drawn as vector squares: sharp at any zoom or print size, and a few hundred
    bytes instead of an image."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        # Never a Micro QR: not every phone camera app reads those.
        self.matrix = segno.make_qr(data, error="m").matrix
        self.size = size
        self.hAlign = "CENTER"

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        modules = len(self.matrix) + 2 * QR_QUIET_MODULES
        step = self.size / modules
        path = self.canv.beginPath()
        # One path, with one rectangle per run of dark modules in a row: a fraction of the
        # operators of a square per module, and no seams inside a run when a viewer antialiases.
        for row, line in enumerate(self.matrix):
            y = self.size - (row + 1 + QR_QUIET_MODULES) * step
            column = 0
            while column < len(line):
                if not line[column]:
                    column += 1
                    continue
                start = column
                while column < len(line) and line[column]:
                    column += 1
                x = (start + QR_QUIET_MODULES) * step
                path.rect(x, y, (column - start) * step, step)
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


class _NumberedCanvas(Canvas):
    """Holds every page until the end so the footer can say "page n of N" in one pass."""

    def __init__(self, *args: Any, footer: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        y = MARGIN_BOTTOM - 9 * mm
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.4)
        self.line(MARGIN_X, y + 4 * mm, PAGE_WIDTH - MARGIN_X, y + 4 * mm)
        self.setFont(register_font(), 8)
        self.setFillColor(MUTED)
        self.drawString(MARGIN_X, y, self._footer)
        self.drawRightString(
            PAGE_WIDTH - MARGIN_X,
            y,
            _("第 %(page)d 页 / 共 %(pages)d 页", page=number, pages=total),
        )
        self.restoreState()


def _build_pdf(story: list[Flowable], *, title: str, author: str, footer: str) -> bytes:
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author=author,
        creator="lms",
        # The canvas starts in our font, so the PDF names no unembedded Helvetica.
        initialFontName=register_font(),
        initialFontSize=10,
    )
    # No frame padding: tables are sized to CONTENT_WIDTH and must line up with the text.
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        CONTENT_WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    document.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    document.build(story, canvasmaker=functools.partial(_NumberedCanvas, footer=footer))
    return buffer.getvalue()


def _display_time(value: str) -> str:
    """An ISO time with a zone in the display zone as ``YYYY-MM-DD HH:MM``; a time without a
    zone is taken as already local; anything else is shown as it is."""
    if not isinstance(value, str) or len(value) <= len("2026-11-01"):
        return str(value)  # a bare date stays a date, not midnight
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return format_local(moment)

"""The learning file as a PDF, laid out by the credit bank's PDF module (the same fonts, table
and page furniture as the transcript)."""

from __future__ import annotations

from flask_babel import gettext as _

from lms.core.time import format_local, utcnow
from lms.credits import pdf
from lms.records.learning_file import LearningFile


def learning_file_pdf(file: LearningFile) -> bytes:
    holder = {
        "name": file.holder.name,
        "phone": file.holder.masked_phone,
        "account_no": file.account.account_no if file.account else _("未开户"),
    }
    totals = [
        {"year": total.year, "hours": f"{total.hours:.1f}", "credits": f"{total.credits:.1f}"}
        for total in file.totals
    ]
    items = [
        {
            "occurred_at": format_local(item.occurred_at),
            "kind_label": item.kind.label,
            "title": item.title,
            "hours": f"{item.hours:.1f}" if item.hours else "",
            "credits": f"{item.credits:+.1f}" if item.credits else "",
            "detail": item.detail,
        }
        for item in file.items
    ]
    return pdf.render_learning_file_pdf(holder, totals, items, generated_at=format_local(utcnow()))

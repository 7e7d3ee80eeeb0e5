"""Admin pages: the audit trail of staff actions (/admin/audit), for county administrators,
with filters, pages and export."""

from __future__ import annotations

from datetime import date

from flask import abort, render_template, request
from flask_login import current_user, login_required

from lms.accounts import access
from lms.admin import bp, exports
from lms.admin.audit import ACTIONS, HEADERS, action_label, audit_query, export_rows
from lms.core.paging import paginate
from lms.core.web import int_arg
from lms.extensions import db

PER_PAGE = 50
EXPORT_LIMIT = 100_000


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _filters() -> dict[str, object]:
    action = request.args.get("action")
    return {
        "action": action if action in ACTIONS else None,
        "who": (request.args.get("who") or "").strip()[:40] or None,
        "since": _date_arg("since"),
        "until": _date_arg("until"),
    }


def require_county_admin() -> None:
    if not access.is_county_admin(current_user):
        abort(403)


@bp.get("/admin/audit")
@login_required
def audit():
    require_county_admin()
    filters = _filters()
    found = paginate(
        audit_query(**filters), page=min(int_arg("page", 1), 10_000), per_page=PER_PAGE
    )
    shown = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    return render_template(
        "admin/audit.html",
        entries=found.items,
        page=found.page,
        pages=found.pages,
        total=found.total,
        filters=shown,
        actions=ACTIONS,
        action_label=action_label,
    )


@bp.get("/admin/audit.<fmt>")
@login_required
def audit_export(fmt: str):
    require_county_admin()
    entries = db.session.scalars(audit_query(**_filters()).limit(EXPORT_LIMIT))
    return exports.download(HEADERS, export_rows(entries), "操作日志", fmt)

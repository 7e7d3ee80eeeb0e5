"""Numbers as residents and staff type them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from lms.core.errors import field_error


def exact_hours(value, *, maximum: Decimal, too_many: str, field: str = "hours") -> Decimal:
    """学时 exactly as typed: a positive number with at most one decimal and no more than
    *maximum* (*too_many* says so); nothing is rounded, anything else is refused."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise field_error(field, _("学时必须是数字")) from None
    if not amount.is_finite() or amount <= 0:
        raise field_error(field, _("学时必须大于 0"))
    if amount > maximum:  # before quantizing: 1E+30 has no place for a decimal
        raise field_error(field, too_many)
    if amount != amount.quantize(Decimal("0.1")):
        raise field_error(field, _("学时最多保留一位小数"))
    return amount.quantize(Decimal("0.1"))

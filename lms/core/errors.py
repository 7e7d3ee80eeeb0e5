"""Errors raised by operations and understood by both the web pages and the API."""

from __future__ import annotations


class OperationError(Exception):
    """A rule refused the operation. *message* is for the user (already translated).

    *fields* maps a field name to its messages; *status* is the HTTP status the API answers with.
    """

    status = 422
    code = "validation_error"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        status: int | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class Conflict(OperationError):
    status = 409
    code = "conflict"


class Forbidden(OperationError):
    status = 403
    code = "forbidden"


def field_error(field: str, message: str, *, status: int | None = None) -> OperationError:
    """An OperationError about one field."""
    return OperationError(message, fields={field: [message]}, status=status)

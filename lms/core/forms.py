"""Helpers that join WTForms to operations: an operation's field errors land on the form."""

from __future__ import annotations

from flask import render_template
from flask_wtf import FlaskForm

from lms.core.errors import OperationError


def show_errors(
    form: FlaskForm, error: OperationError, *, rename: dict[str, str] | None = None
) -> None:
    """Attach *error*'s messages to the matching fields (or to the form as a whole)."""
    rename = rename or {}
    placed = False
    for name, messages in error.fields.items():
        field = getattr(form, rename.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), *messages]
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def render_form(template: str, form: FlaskForm, *, status: int | None = None, **context):
    """Render *template*; a submitted form with errors answers 422 (or *status*)."""
    if status is None:
        status = 422 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template(template, form=form, **context), status

"""Helpers that join WTForms to operations: the one way a page calls an operation and commits
(or rolls back and shows the message), the CSRF check of a button, and form rendering."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import abort, flash, render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from lms.core.errors import OperationError
from lms.core.text import has_control_characters
from lms.extensions import db


class Form(FlaskForm):
    """The base of every form: on top of its own validators, no text field may hold a control
    character (NUL, escape codes, bidirectional overrides, lone surrogates); nothing such is
    ever stored."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            data = field.data
            if isinstance(data, str) and has_control_characters(data):
                field.errors = [*list(field.errors), _("内容包含不允许的控制字符")]
                valid = False
            files = data if isinstance(data, list) else [data]
            if any(
                isinstance(getattr(item, "filename", None), str)
                and has_control_characters(item.filename)
                for item in files
            ):
                field.errors = [*list(field.errors), _("文件名包含不允许的控制字符")]
                valid = False
        return valid


class EmptyForm(Form):
    """A form with nothing but the CSRF token, for buttons that change something."""


def require_form_token() -> None:
    """A button's POST must carry the page's CSRF token; anything else is a bad request."""
    if not EmptyForm().validate_on_submit():
        abort(400)


@dataclass
class Attempt:
    """What became of the operation run inside :func:`attempt`."""

    ok: bool = False
    error: OperationError | None = None


@contextmanager
def attempt(
    form: FlaskForm | None = None,
    *,
    done: str | None = None,
    rename: dict[str, str] | None = None,
) -> Iterator[Attempt]:
    """Run the operation in the ``with`` block and commit. When it raises OperationError, roll
    back and show the message: on *form*'s fields when given, else as a flashed error. *done* is
    flashed after the commit. The block's result says which happened::

        with attempt(form, done=_("课程已保存")) as result:
            operations.update_course(course, ...)
        if result.ok:
            return redirect(...)
    """
    result = Attempt()
    try:
        yield result
    except OperationError as error:
        db.session.rollback()
        result.error = error
        if form is not None:
            show_errors(form, error, rename=rename)
        else:
            flash(error.message, "error")
        return
    db.session.commit()
    result.ok = True
    if done:
        flash(done, "success")


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

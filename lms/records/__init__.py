"""The learning file (学习档案): everything a resident learnt, in time order, gathered from the
lower features (enrolments, lessons, courses, outcomes and credits); as a page, a PDF and xAPI
statements. Read-only: records writes nothing.
"""

from flask import Blueprint

bp = Blueprint("records", __name__)
api_bp = Blueprint("records_api", __name__, url_prefix="/api/v1")

# Until the templates outside this feature that still say ``credits.learning_file`` (base.html,
# admin/person.html, accounts/account.html) say ``records.…``, their links are built from the
# new names. Remove this with the last of them.
_FORMER_NAMES = {
    f"credits.{name}": f"records.{name}"
    for name in (
        "my_learning_file",
        "learning_file",
        "my_learning_file_pdf",
        "learning_file_pdf",
        "my_learning_file_xapi",
        "learning_file_xapi",
    )
}


def _former_name(error, endpoint: str, values: dict):
    from flask import url_for

    if endpoint in _FORMER_NAMES:
        return url_for(_FORMER_NAMES[endpoint], **values)
    return None


bp.record_once(lambda state: state.app.url_build_error_handlers.append(_former_name))

from lms.records import api, views  # noqa: E402,F401  (routes register on import)

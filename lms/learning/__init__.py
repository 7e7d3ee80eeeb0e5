"""Learning: enrolment in courses and what each resident is learning (我的课程)."""

from flask import Blueprint

bp = Blueprint("learning", __name__)
api_bp = Blueprint("learning_api", __name__, url_prefix="/api/v1")

from lms.learning import api, views  # noqa: E402,F401  (routes register on import)

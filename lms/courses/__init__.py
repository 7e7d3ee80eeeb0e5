"""Courses: the catalogue, courses with text lessons, categories."""

from flask import Blueprint

bp = Blueprint("courses", __name__)
api_bp = Blueprint("courses_api", __name__, url_prefix="/api/v1")

from lms.courses import api, views  # noqa: E402,F401  (routes register on import)

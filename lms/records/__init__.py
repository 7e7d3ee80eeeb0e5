"""The learning file (学习档案): everything a resident learnt, in time order, gathered from the
lower features (enrolments, lessons, courses, outcomes and credits); as a page, a PDF and xAPI
statements. Read-only: records writes nothing.
"""

from flask import Blueprint

bp = Blueprint("records", __name__)
api_bp = Blueprint("records_api", __name__, url_prefix="/api/v1")

from lms.records import api, views  # noqa: E402,F401  (routes register on import)

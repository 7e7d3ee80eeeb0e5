"""Activities (线下活动): activities organised by a unit, registration, check-in by rotating code,
personal code or by hand, and closing, which hands each attendance to the credit bank through the
``attendance_counted`` signal (credits listens) and tells the registry through ``activity_closed``.
Lecturers and volunteers live in ``registry``."""

from flask import Blueprint

bp = Blueprint("activities", __name__)
api_bp = Blueprint("activities_api", __name__, url_prefix="/api/v1")

from lms.activities import api, models, tasks, views  # noqa: E402,F401  (routes, jobs)

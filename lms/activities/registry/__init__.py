"""The lecturer and volunteer registry of the activities feature: the 讲师团 (lecturers of each
unit, optionally linked to an account), the 志愿者队伍 (residents apply, staff of their unit
approve or refuse with a reason), the 后备人才库 flag staff search by, who taught and who served
at which activity, and the service hours recorded when the activity closes.

Its routes live on their own blueprints (``registry.bp`` for pages, ``registry.api_bp`` under
/api/v1), registered in ``create_app`` after the activities' own. It listens to
``activity_closed`` and sends ``volunteer_served`` (credits records the volunteer outcome).
"""

from flask import Blueprint

from lms.core import signals

bp = Blueprint("registry", __name__)
api_bp = Blueprint("registry_api", __name__, url_prefix="/api/v1")


def _activity_closed(activity, **extra) -> None:
    from lms.activities.registry.operations import record_service

    record_service(activity)


signals.activity_closed.connect(_activity_closed)

from lms.activities.registry import api, views  # noqa: E402,F401  (routes register on import)

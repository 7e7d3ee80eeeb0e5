"""HTML views of activities: the residents' pages (list, activity, registration, calendar file),
check-in (the rotating code's landing page, 我的签到码 and the organiser's scan of it) and the
organisers' pages (create, edit, the projected code, attendance, closing, corrections)."""

from lms.activities.views import check_in, organise, public  # noqa: F401  (routes register)

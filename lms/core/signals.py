"""Signals through which a lower feature tells higher ones what happened."""

from blinker import Namespace

_signals = Namespace()

user_created = _signals.signal("user-created")
course_published = _signals.signal("course-published")
course_unpublished = _signals.signal("course-unpublished")
enrolled = _signals.signal("enrolled")
withdrawn = _signals.signal("withdrawn")
course_completed = _signals.signal("course-completed")
# A published course's searchable content changed (title, summary, lessons, materials …).
course_changed = _signals.signal("course-changed")

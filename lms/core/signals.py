"""Signals through which a lower feature tells higher ones what happened.

Every signal is sent inside the request's (or job's) transaction, after a flush, with the object
that changed as its sender. A receiver may write through its own feature's operations (they join
the same transaction, so a rollback undoes both) and must leave side effects outside the database
to after-commit hooks (law 2).
"""

from blinker import Namespace

_signals = Namespace()

user_created = _signals.signal("user-created")
"""Sent by ``accounts.operations.create_user`` with the new :class:`User` (sign-up, staff
registration, the command line, the demo). Credits listens: it opens the user's credit account."""

users_created = _signals.signal("users-created")
"""Sent by ``admin.imports`` once per imported chunk, with the list of the new :class:`User` rows
(flushed, each already a resident) as sender, instead of ``user_created`` for each. Credits
listens: it opens all their credit accounts at once. A feature that listens to ``user_created``
listens to this one too."""

course_published = _signals.signal("course-published")
"""Sent by ``courses.operations.publish_course`` with the :class:`Course`. Search listens: it
queues the course for indexing."""

course_unpublished = _signals.signal("course-unpublished")
"""Sent by ``courses.operations`` when a published course goes back to draft or is archived, with
the :class:`Course`. Search listens: it queues the course's removal from the index."""

enrolled = _signals.signal("enrolled")
"""Sent by ``learning.operations.enrol`` with the new (or renewed) :class:`Enrolment`. Nobody
listens yet; statistics and notices will."""

withdrawn = _signals.signal("withdrawn")
"""Sent by ``learning.operations.withdraw`` with the :class:`Enrolment`. Nobody listens yet."""

course_completed = _signals.signal("course-completed")
"""Sent by ``learning.operations`` when the last required lesson of a course is learnt, once per
enrolment, with the :class:`Enrolment`. Credits listens: it records an online-course outcome and
converts it into credits."""

course_changed = _signals.signal("course-changed")
"""Sent by ``courses.operations`` and ``media.operations`` with the :class:`Course` whose
searchable content changed (title, summary, category, lessons, materials). Search listens: it
re-indexes the course when it is published."""

activity_closed = _signals.signal("activity-closed")
"""Sent by ``activities.operations`` when an activity closes (its attendance becomes final),
once per activity, with the :class:`Activity`. The activities feature's registry listens: it
records the service hours of the lecturers who taught and the volunteers who served at it, and
sends ``volunteer_served`` for each volunteer with an account."""

volunteer_served = _signals.signal("volunteer-served")
"""Sent by ``activities.registry.operations`` once per volunteer assignment whose service hours
were just recorded (the activity closed), with the :class:`ActivityVolunteer` assignment; only
for a volunteer linked to an account. Credits listens: it records a volunteer-service outcome
certified in the name of the activity's unit and converts it by the rules (once per
assignment: the registry claims the assignment with one conditional UPDATE before sending)."""

attendance_counted = _signals.signal("attendance-counted")
"""Sent by ``activities.operations`` with an :class:`Attendance` that now counts as learning: for
each attendance of an activity when it closes, and for one added by a correction after that.
Credits listens: it records an activity outcome certified in the name of the organising unit and
posts its credits once per attendance (ledger key ``attendance:<id>``)."""

attendance_voided = _signals.signal("attendance-voided")
"""Sent by ``activities.operations.void_attendance`` with the counted :class:`Attendance` an
organiser struck out after closing, and ``actor`` and ``reason``. Credits listens: it reverses the
attendance's credits (if any were posted) and revokes its outcome."""

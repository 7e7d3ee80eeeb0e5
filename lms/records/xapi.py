"""The learning file as xAPI 1.0.3 statements: ADL verbs, and the xAPI video profile's
extensions (length, progress, played segments) on completed video lessons.

Statement ids are UUIDv5 of what they describe, so exporting twice gives the same ids and a
learning record store that receives both keeps one copy.
"""

from __future__ import annotations

import uuid
from datetime import UTC

from flask import url_for
from flask_babel import gettext as _

from lms.records.learning_file import ItemKind, LearningFile

ADL = "http://adlnet.gov/expapi/verbs/"
VIDEO = "https://w3id.org/xapi/video/"
VERBS = {
    "registered": {"zh-CN": "报名", "en-US": "registered"},
    "completed": {"zh-CN": "完成", "en-US": "completed"},
    "attended": {"zh-CN": "参加", "en-US": "attended"},
    "passed": {"zh-CN": "通过认证", "en-US": "passed"},
    "voided": {"zh-CN": "撤销", "en-US": "voided"},
}
ATTENDED_KINDS = {"training", "activity", "volunteer"}


def _verb(name: str) -> dict:
    return {"id": ADL + name, "display": VERBS[name]}


def _site() -> str:
    return url_for("courses.index", _external=True).rstrip("/")


def _statement_id(site: str, *parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, (site, *parts)))))


def _activity(site: str, path: str, name: str, activity_type: str) -> dict:
    return {
        "objectType": "Activity",
        "id": f"{site}/{path}",
        "definition": {"name": {"zh-CN": name}, "type": activity_type},
    }


def _segments(intervals: list) -> str:
    return "[,]".join(f"{start:.3f}[.]{end:.3f}" for start, end in intervals)


def _duration(seconds: float) -> str:
    return f"PT{round(seconds, 2)}S"


def statements(file: LearningFile) -> list[dict]:
    """The statements for the (filtered) items of *file*, oldest first."""
    holder = file.holder
    site = _site()  # once: url_for is not free, and an export can hold thousands of statements
    actor = {
        "objectType": "Agent",
        "name": holder.name,
        "account": {
            "homePage": site,
            "name": file.account.account_no if file.account else f"user-{holder.id}",
        },
    }
    context = {"platform": _("泸县城乡居民终身学习网"), "language": "zh-CN"}
    result = []
    for item in sorted(file.items, key=lambda item: item.occurred_at):
        ref = item.ref
        statement = _statement(site, item, ref)
        if statement is None:
            continue
        statement.update(
            actor=actor,
            timestamp=item.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            context=dict(context, **statement.get("context", {})),
            version="1.0.3",
        )
        result.append(statement)
    return result


def _course(site: str, ref: dict, title: str) -> dict:
    return _activity(
        site, f"courses/{ref['course_id']}", title, "http://adlnet.gov/expapi/activities/course"
    )


def _statement(site: str, item, ref: dict) -> dict | None:
    if item.kind is ItemKind.ENROLMENT:
        return {
            "id": _statement_id(site, "enrolment", ref["course_id"], item.occurred_at.isoformat()),
            "verb": _verb("registered"),
            "object": _course(site, ref, item.title),
        }
    if item.kind is ItemKind.COURSE:
        return {
            "id": _statement_id(site, "course-completed", ref["course_id"]),
            "verb": _verb("completed"),
            "object": _course(site, ref, item.title),
            # Hours only once certified: an uncertified course's claim is not a result.
            "result": {"completion": True}
            | (
                {"extensions": {f"{site}/xapi/hours": str(item.hours)}}
                if item.hours is not None
                else {}
            ),
        }
    if item.kind is ItemKind.LESSON:
        parent = {"contextActivities": {"parent": [_course(site, ref, ref["course_title"])]}}
        if not ref["video"]:
            return {
                "id": _statement_id(site, "lesson-completed", ref["lesson_id"]),
                "verb": _verb("completed"),
                "object": _activity(
                    site,
                    f"lessons/{ref['lesson_id']}",
                    item.title,
                    "http://adlnet.gov/expapi/activities/lesson",
                ),
                "result": {"completion": True},
                "context": parent,
            }
        length = ref["length_s"] or 0
        progress = min(1.0, ref["watched_s"] / length) if length else 1.0
        return {
            "id": _statement_id(site, "lesson-completed", ref["lesson_id"]),
            "verb": _verb("completed"),
            "object": _activity(
                site, f"lessons/{ref['lesson_id']}", item.title, f"{VIDEO}activity-type/video"
            ),
            "result": {
                "completion": True,
                "duration": _duration(ref["watched_s"]),
                "extensions": {
                    f"{VIDEO}extensions/length": length,
                    f"{VIDEO}extensions/progress": round(progress, 3),
                    f"{VIDEO}extensions/played-segments": _segments(ref["intervals"]),
                },
            },
            "context": dict(parent, extensions={f"{VIDEO}extensions/completion-threshold": 0.9}),
        }
    if item.kind is ItemKind.OUTCOME:
        if ref["status"] != "certified":
            return None
        verb = "attended" if ref["kind"] in ATTENDED_KINDS else "passed"
        return {
            "id": _statement_id(site, "outcome", ref["outcome_id"]),
            "verb": _verb(verb),
            "object": _activity(
                site,
                f"outcomes/{ref['outcome_id']}",
                item.title,
                "http://adlnet.gov/expapi/activities/meeting"
                if verb == "attended"
                else "http://adlnet.gov/expapi/activities/assessment",
            ),
            "result": {"success": True, "extensions": {f"{site}/xapi/hours": str(item.hours)}},
        }
    if item.kind is ItemKind.CREDIT:
        if ref["reverses_id"] is not None:
            # A reversal voids the statement that recorded the credits it takes back.
            return {
                "id": _statement_id(site, "entry", ref["entry_id"]),
                "verb": _verb("voided"),
                "object": {
                    "objectType": "StatementRef",
                    "id": _statement_id(site, "entry", ref["reverses_id"]),
                },
            }
        target = (
            _course(site, ref, item.title)
            if ref["course_id"]
            else _activity(
                site,
                f"outcomes/{ref['outcome_id']}",
                item.title,
                "http://adlnet.gov/expapi/activities/assessment",
            )
        )
        return {
            "id": _statement_id(site, "entry", ref["entry_id"]),
            "verb": _verb("passed"),
            "object": target,
            "result": {
                "success": True,
                "extensions": {f"{site}/xapi/credits": f"{item.credits:.1f}"},
            },
        }
    return None

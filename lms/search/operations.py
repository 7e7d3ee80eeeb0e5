"""The writes of search: the administrators' words of the search dictionary. The index itself
is written by the worker (index.py), after the commit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from lms.accounts.models import User
from lms.core.errors import OperationError
from lms.core.jobs import after_commit
from lms.extensions import db
from lms.search.analysis import MAX_WORDS, parse_words
from lms.search.models import SearchWord

MAX_LIST_CHARS = 200_000
SHOWN_BAD_LINES = 10


def replace_words(text: str, *, by: User | None) -> list[SearchWord]:
    """Make the administrators' word list what *text* says (``word`` or ``word frequency`` a
    line). A list with any bad line is refused whole, naming the lines, and the previous list
    stays. The index is rebuilt with the new words once the change is committed."""
    if len(text) > MAX_LIST_CHARS:
        raise OperationError(
            _("词表太长（最多 %(n)s 个词）", n=MAX_WORDS), fields={"words": [_("词表太长")]}
        )
    words, bad = parse_words(text)
    if bad:
        lines = [
            _(
                "第 %(number)s 行“%(line)s”：%(reason)s",
                number=b.number,
                line=b.line[:40],
                reason=b.reason,
            )
            if b.number
            else str(b.reason)
            for b in bad[:SHOWN_BAD_LINES]
        ]
        if len(bad) > SHOWN_BAD_LINES:
            lines.append(_("另有 %(n)s 行有误", n=len(bad) - SHOWN_BAD_LINES))
        message = _("词表有 %(n)s 行不对，没有保存，仍使用原来的词表。", n=len(bad))
        raise OperationError(message, fields={"words": [message, *lines]})
    wanted = dict(words)
    existing = {row.word: row for row in db.session.scalars(select(SearchWord))}
    for word, row in existing.items():
        if word not in wanted:
            db.session.delete(row)
    for word, freq in wanted.items():
        row = existing.get(word)
        if row is None:
            db.session.add(SearchWord(word=word, freq=freq, added_by_id=by.id if by else None))
        elif row.freq != freq:
            row.freq = freq
    db.session.flush()
    from lms.search.tasks import rebuild_index

    after_commit(db.session, rebuild_index)
    return db.session.scalars(select(SearchWord).order_by(SearchWord.word)).all()


def word_list_text() -> str:
    """The administrators' words as they would be typed: one a line, with a frequency if set."""
    rows = db.session.scalars(select(SearchWord).order_by(SearchWord.word))
    return "".join(f"{r.word}\n" if r.freq is None else f"{r.word} {r.freq}\n" for r in rows)

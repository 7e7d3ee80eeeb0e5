"""What search stores in the database: the words county administrators add to the dictionary
(on top of the project's ``lms/search/words.txt``). The index itself lives on disk."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.models import CreatedMixin, intpk, str40
from lms.extensions import db


class SearchWord(CreatedMixin, db.Model):
    """A word of the search dictionary, with the frequency jieba gives it (None: enough for it
    to be cut as one word). Kept in the database so every machine builds the same index."""

    __tablename__ = "search_word"

    id: Mapped[intpk]
    word: Mapped[str40] = mapped_column(unique=True)
    freq: Mapped[int | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

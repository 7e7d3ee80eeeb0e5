"""A SQLAlchemy Core statement compiled once for a database and run on a pooled DBAPI
connection directly, with the statement's own conversions of parameters and columns.

For the one request whose cost is dominated by SQLAlchemy's per-execution work (building an
execution context, a result, its metadata): the heartbeat runs three small statements that
the database answers in about 10 µs each, and each costs 100–250 µs through ``execute()``.
The statement is still written once in Core (its SQL, its types); only the running skips the
machinery. Values are converted exactly as ``execute()`` converts them: each bind parameter's
and each selected column's type, as the dialect implements it (``dialect_impl``), gives the
processor SQLAlchemy itself would use.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


class Prepared:
    """*statement* compiled for *dialect*: ``run(cursor, params)`` executes it on a DBAPI
    cursor with *params* given by bind name (or in two steps: ``values`` converts them,
    ``execute`` runs); ``first(cursor, params)`` also returns the first row (a named tuple of
    the selected columns, converted), or None."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        if "POSTCOMPILE" in self.sql:
            raise ValueError("statements with expanding parameters are not supported")
        self.names: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positional else None
        )
        self.defaults = dict(compiled.params)  # the statement's own literals (``x + 1``)
        self.binds: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for bind, name in compiled.bind_names.items()
        }
        self.dialect = dialect
        columns = getattr(statement, "selected_columns", None)
        self.types = [column.type for column in columns] if columns is not None else []
        self.row = namedtuple("Row", list(columns.keys())) if columns is not None else None
        self._results: list[Callable[[Any], Any] | None] | None = None

    def values(self, params: Mapping[str, Any]) -> Any:
        """*params* converted for the driver, in the order or by the names it takes."""
        values = {}
        for name, process in self.binds.items():
            value = params[name] if name in params else self.defaults[name]
            values[name] = value if process is None else process(value)
        if self.names is not None:
            return tuple(values[name] for name in self.names)
        return values

    def execute(self, cursor: Any, values: Any) -> Any:
        """Run with *values* from :meth:`values`; returns the cursor."""
        cursor.execute(self.sql, values)
        return cursor

    def run(self, cursor: Any, params: Mapping[str, Any]) -> Any:
        return self.execute(cursor, self.values(params))

    def first(self, cursor: Any, params: Mapping[str, Any]) -> Any:
        self.run(cursor, params)
        raw = cursor.fetchone()
        if raw is None:
            return None
        if self._results is None:  # the column types the driver reports, seen once
            self._results = [
                type_.dialect_impl(self.dialect).result_processor(self.dialect, described[1])
                for type_, described in zip(self.types, cursor.description, strict=True)
            ]
        return self.row._make(
            value if process is None else process(value)
            for process, value in zip(self._results, raw, strict=True)
        )

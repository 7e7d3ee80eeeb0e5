"""``lms search …``: the search index."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.search.index import rebuild


@click.group("search")
def group() -> None:
    """The search index."""


@group.command("reindex")
@with_appcontext
def search_reindex() -> None:
    """Rebuild the index from the database into a new folder and swap it in; searches go on
    using the old index until the new one is in place."""

    def progress(courses, total):
        with click.progressbar(courses, length=total, label="indexing courses") as bar:
            yield from bar

    count = rebuild(progress=progress)
    click.echo(f"indexed {count} published course(s) into {current_app.config['LMS_SEARCH_DIR']}")

"""``lms media …``: media assets and transcoding."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.core.errors import OperationError
from lms.extensions import db
from lms.media.models import MediaAsset, MediaStatus
from lms.media.operations import retry_asset


@click.group("media")
def group() -> None:
    """Media assets and transcoding."""


@group.command("retranscode")
@click.argument("asset_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every asset that is ready or failed.")
@with_appcontext
def media_retranscode(asset_ids: tuple[int, ...], every: bool) -> None:
    """Transcode assets again (by id, or --all); the worker does the work."""
    if not asset_ids and not every:
        raise click.UsageError("name asset ids, or --all")
    query = select(MediaAsset).order_by(MediaAsset.id)
    if every:
        query = query.where(MediaAsset.status.in_([MediaStatus.READY, MediaStatus.FAILED]))
    else:
        query = query.where(MediaAsset.id.in_(asset_ids))
    assets = db.session.scalars(query).all()
    missing = set(asset_ids) - {asset.id for asset in assets}
    if missing:
        raise click.ClickException(f"no such asset: {', '.join(map(str, sorted(missing)))}")
    with click.progressbar(assets, label="queueing") as bar:
        for asset in bar:
            try:
                retry_asset(asset)
            except OperationError as error:
                click.echo(f"\nasset {asset.id}: {error.message}")
    db.session.commit()
    click.echo(f"queued {len(assets)} asset(s); `lms worker` transcodes them")

"""泸县城乡居民终身学习网: the application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application. *config* overrides the defaults and the ``LMS_*`` environment."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from lms import (
        accounts,
        activities,
        admin,
        cli,
        courses,
        credits,
        learning,
        media,
        records,
        search,
    )
    from lms.accounts import auth
    from lms.accounts import cli as accounts_cli
    from lms.activities import registry
    from lms.admin import cli as admin_cli
    from lms.config import ROOT, build_config, instance_dir
    from lms.core import assets, jobs, openapi, retry, web
    from lms.core.private import make_private
    from lms.credits import cli as credits_cli
    from lms.extensions import babel, csrf, db, login_manager, migrate
    from lms.learning import beats
    from lms.media import cli as media_cli
    from lms.search import cli as search_cli

    config = dict(config or {})
    instance = Path(config.pop("LMS_INSTANCE_DIR", None) or instance_dir())
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(build_config(instance, config))
    instance.mkdir(parents=True, exist_ok=True)
    make_private(instance)  # databases, queue, search index and keys: owner-only
    if app.config.get("LMS_PROXY_COUNT"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["LMS_PROXY_COUNT"]), x_proto=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        default_translation_directories=str(ROOT / "lms" / "translations"),
    )
    jobs.init_app(app)
    web.init_app(app)
    assets.init_app(app)  # hashed static URLs, a year's cache, compression
    auth.init_app(app)  # who is signed in: the session cookie or a bearer token

    # Commands: `lms demo`, `lms worker`, then one group per feature.
    cli.init_app(app)
    for command in (accounts_cli.group, media_cli.group, search_cli.group, credits_cli.group):
        app.cli.add_command(command)
    app.cli.add_command(admin_cli.group)

    # Blueprints, in the order the features depend on each other.
    app.register_blueprint(openapi.docs)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(accounts.api_bp)
    app.register_blueprint(courses.bp)
    app.register_blueprint(courses.api_bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(media.api_bp)
    app.register_blueprint(learning.bp)
    app.register_blueprint(learning.api_bp)
    app.register_blueprint(activities.bp)
    app.register_blueprint(activities.api_bp)
    app.register_blueprint(registry.bp)
    app.register_blueprint(registry.api_bp)
    app.register_blueprint(credits.bp)
    app.register_blueprint(credits.api_bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(records.api_bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin.api_bp)
    app.register_blueprint(search.api_bp)
    api_blueprints = (
        accounts.api_bp,
        courses.api_bp,
        media.api_bp,
        learning.api_bp,
        activities.api_bp,
        registry.api_bp,
        credits.api_bp,
        records.api_bp,
        search.api_bp,
        admin.api_bp,
        openapi.docs,
    )
    for blueprint in api_blueprints:
        csrf.exempt(blueprint)  # cookie-authenticated API writes are checked in core.web
    retry.init_app(app)  # every write runs again on a conflict with a concurrent one
    beats.init_app(app)  # heartbeats with a bearer token: their own short path before Flask
    return app

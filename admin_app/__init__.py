"""Dictadmin: a records admin whose fields, labels and layouts come from a data dictionary."""

from __future__ import annotations

import os
import secrets
import typing as t

from flask import Flask

from . import (
    api,
    auth,
    cli,
    dictionary,
    directory,
    errors,
    importer,
    limits,
    mail,
    portal,
    store,
    views,
)
from .config import from_environment
from .security import headers, operators, password_pages


class Dictadmin(Flask):
    def log_exception(self, exc_info: t.Any) -> None:
        # With a reference that the error page shows the user.
        errors.log_exception(self, exc_info)


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    """Build the app: environment settings, overridden by `config` (tests, embedding)."""
    settings = {**from_environment(), **(config or {})}
    app = Dictadmin(__name__, instance_relative_config=True,
                    instance_path=settings.get("INSTANCE_PATH") or None)
    app.config.update(settings)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.setdefault("STORE_PATH", os.path.join(app.instance_path, "store"))
    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or _instance_secret(app)

    try:
        store.connect(app.config["MONGODB_URI"], app.config["STORE_PATH"],
                   app.config["MONGODB_DB"], app.config["DB_TIMEOUT_MS"])
    except store.StoreError as exc:
        # One sentence, not a traceback: this is what an operator sees at start-up.
        raise SystemExit(f"Dictadmin cannot start: {exc}") from exc

    limits.init_app(app)
    headers.init_app(app)
    operators.init_app(app)
    dictionary.init_app(app)
    auth.init_app(app)
    password_pages.init_app(app)
    admin = views.init_app(app)
    portal.init_app(app)
    api.init_app(app)
    errors.init_app(app, admin)
    importer.init_app(app)
    mail.init_app(app)
    directory.init_app(app)
    cli.init_app(app)
    return app


def _instance_secret(app: Flask) -> str:
    """A per-installation secret kept in the instance folder, so sessions survive restarts
    and every worker process signs cookies with the same key."""
    path = os.path.join(app.instance_path, "secret_key")
    try:
        # O_EXCL: when two workers start together only one writes; the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        key = secrets.token_hex(32)
        handle.write(key)
    return key

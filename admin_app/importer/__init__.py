"""Bulk JSON seed import and export, validated by the live dictionary."""

from __future__ import annotations

from flask import Flask

from .engine import Options, load
from .export import export

__all__ = ["Options", "export", "init_app", "load"]


def init_app(app: Flask) -> None:
    from .cli import seed_cli

    app.cli.add_command(seed_cli)

"""The REST API's blueprint, at /api/v1/."""

from __future__ import annotations

import typing as t

from flask import Blueprint

from .problems import Problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(Problem)
def problem(error: Problem) -> t.Any:
    return error.response()

"""The self-service portal at /portal/: a WebGuest signs in (with a local password, or the
directory password for a customer a directory connector made), sees and edits its own
details as far as the dictionary allows, sees its own tickets and logs new ones.

Nothing here takes a customer id from the visitor: the customer is always the signed-in
login's (`access.py`), so no URL reaches another customer's record or tickets.
"""

from __future__ import annotations

from flask import Flask

from . import pages, signin  # noqa: F401 - their routes join the blueprint
from .blueprint import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

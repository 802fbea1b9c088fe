"""The portal's blueprint, on its own so the pages that add routes to it (`pages.py`,
`signin.py`) import it from here, and the package imports them: no module imports its
package back."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")

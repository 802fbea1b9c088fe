"""Settings read from the environment (and `.env`), so one build runs anywhere.

`create_app(config)` lays a test or embedding caller's mapping on top of these.
"""

from __future__ import annotations

import os
import typing as t

from dotenv import load_dotenv


def from_environment() -> dict[str, t.Any]:
    """Read settings after `.env` is loaded; variables already set win over the file."""
    load_dotenv()
    return {
        "MONGODB_URI": os.environ.get("MONGODB_URI") or None,
        "MONGODB_DB": os.environ.get("MONGODB_DB", "dictadmin"),
        # Where the embedded store, the generated secret key and other local data live.
        "INSTANCE_PATH": os.environ.get("INSTANCE_PATH") or None,
        # Unset means "generate one per instance folder" (see __init__._instance_secret).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "ADMIN_EMAIL": os.environ.get("ADMIN_EMAIL", "admin@example.com"),
        "ADMIN_PASSWORD": os.environ.get("ADMIN_PASSWORD") or None,
        "DB_TIMEOUT_MS": int(os.environ.get("DB_TIMEOUT_MS", "3000")),
        # Largest request body: pages and forms, and (larger) a seed file upload.
        "MAX_CONTENT_LENGTH": _megabytes("MAX_REQUEST_MB", 2),
        "MAX_UPLOAD_BYTES": _megabytes("MAX_UPLOAD_MB", 256),
    }


def _megabytes(variable: str, default: float) -> int:
    return int(float(os.environ.get(variable) or default) * 2**20)

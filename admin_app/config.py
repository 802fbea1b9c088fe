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
        # Outgoing mail (closure notices). No SMTP_HOST: notices wait in the outbox.
        # SMTP_PORT unset: 587 with STARTTLS, else 25 (see mail.smtp.Settings).
        "SMTP_HOST": os.environ.get("SMTP_HOST") or None,
        "SMTP_PORT": _number("SMTP_PORT", None),
        "SMTP_USER": os.environ.get("SMTP_USER") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _flag("SMTP_STARTTLS"),
        "SMTP_TIMEOUT": _number("SMTP_TIMEOUT", 10),
        "MAIL_FROM": os.environ.get("MAIL_FROM") or "dictadmin@localhost",
        # A directory connector named "default", shown read-only (see
        # directory.connectors.default_connector_from_env). LDAP_URL may list several
        # servers (tried in order); LDAP_BASE_DN several base DNs separated by ";".
        "LDAP_URL": os.environ.get("LDAP_URL") or None,
        "LDAP_BIND_DN": os.environ.get("LDAP_BIND_DN") or None,
        "LDAP_BIND_PASSWORD": os.environ.get("LDAP_BIND_PASSWORD") or None,
        "LDAP_BASE_DN": os.environ.get("LDAP_BASE_DN") or None,
        "LDAP_FILTER": os.environ.get("LDAP_FILTER") or None,
        "LDAP_CA_FILE": os.environ.get("LDAP_CA_FILE") or None,
        "LDAP_STARTTLS": _flag("LDAP_STARTTLS"),
    }


def _megabytes(variable: str, default: float) -> int:
    return int(float(os.environ.get(variable) or default) * 2**20)


def _flag(variable: str) -> bool:
    value = (os.environ.get(variable) or "false").strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise SystemExit(f"Dictadmin cannot start: {variable} must be true or false, "
                         f"not {value!r}.")
    return value in ("true", "1", "yes", "on")


def _number(variable: str, default: float | None) -> t.Any:
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = -1
    if number <= 0:
        raise SystemExit(f"Dictadmin cannot start: {variable} must be a positive number, "
                         f"not {text!r}.")
    return int(number) if number.is_integer() else number

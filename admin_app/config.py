"""Settings read from the environment (and `.env`), so one build runs anywhere.

`create_app(config)` lays a test or embedding caller's mapping on top of these.
"""

from __future__ import annotations

import os
import typing as t
from datetime import timedelta

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
        # Past this many records the embedded store warns at setup (cli._warn_when_outgrown).
        "EMBEDDED_COMFORT_RECORDS": _number("EMBEDDED_COMFORT_RECORDS", None),
        # A bulk change of more records than this runs as a job (records.bulk.IN_REQUEST).
        "BULK_IN_REQUEST": _number("BULK_IN_REQUEST", 1000),
        # The embedded store's keys-table rows a list reads to count what it shows,
        # before it says "of many" (unset: records.listing.COUNT_WORK).
        "LIST_COUNT_WORK": _number("LIST_COUNT_WORK", None),
        # Sessions (see security.sessions). SESSION_COOKIE_SECURE unset: Secure when
        # PREFERRED_URL_SCHEME is https or the request came over HTTPS (behind a proxy, only
        # with TRUST_PROXY, which also makes X-Forwarded-For the client's address).
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME") or "http",
        "TRUST_PROXY": _flag("TRUST_PROXY"),
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE")
        if os.environ.get("SESSION_COOKIE_SECURE") else None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A session ends this long after sign-in at the latest.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_number("SESSION_HOURS", 12)),
        # Sign-in throttle (see security.throttle): failures allowed before attempts must
        # wait (the wait starts at SIGNIN_FIRST_DELAY_SECONDS and doubles), and failures
        # that lock an account, or a client address, for SIGNIN_LOCK_MINUTES.
        "SIGNIN_FREE_FAILURES": _number("SIGNIN_FREE_FAILURES", 3),
        "SIGNIN_LOCK_FAILURES": _number("SIGNIN_LOCK_FAILURES", 10),
        "SIGNIN_ADDRESS_FREE_FAILURES": _number("SIGNIN_ADDRESS_FREE_FAILURES", 10),
        "SIGNIN_ADDRESS_LOCK_FAILURES": _number("SIGNIN_ADDRESS_LOCK_FAILURES", 30),
        "SIGNIN_FIRST_DELAY_SECONDS": _number("SIGNIN_FIRST_DELAY_SECONDS", 1),
        "SIGNIN_LOCK_MINUTES": _number("SIGNIN_LOCK_MINUTES", 15),
        # How long a one-time set-password link works (see security.links).
        "STAFF_LINK_HOURS": _number("STAFF_LINK_HOURS", 72),
        "WEBGUEST_LINK_HOURS": _number("WEBGUEST_LINK_HOURS", 7 * 24),
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
        # Record history older than this many days is deleted by `flask history prune`;
        # unset: kept forever (see records.cli).
        "HISTORY_DAYS": _number("HISTORY_DAYS", None),
        # Requests each API token may make per minute; past it the API answers 429 with
        # Retry-After (see security.api_rate).
        "API_REQUESTS_PER_MINUTE": _number("API_REQUESTS_PER_MINUTE", 600),
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

"""Small helpers that act as a person in a browser would: read the page, post the form."""

from __future__ import annotations

import re
import typing as t
from html import unescape

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
AGENT_PASSWORD = "agent-pass-for-tests"  # the agent_client fixture's

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_OPENED = re.compile(r'<input type="hidden" name="(_revision|_opened)" value="([^"]*)">')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def opened_state(html: str) -> dict[str, str]:
    """A record edit form's hidden revision and opened values, which a browser posts back."""
    return {name: unescape(value) for name, value in _OPENED.findall(html)}


def submit(client: t.Any, url: str, data: dict[str, t.Any], **kwargs: t.Any) -> t.Any:
    """GET the page for its CSRF token (and a record form's opened state), then POST the
    form to the same URL."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    payload = {"csrf_token": csrf_token(html), **opened_state(html), **data}
    return client.post(url, data=payload, **kwargs)


def login(client: t.Any, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> t.Any:
    return submit(client, "/login", {"email": email, "password": password})


def sign_out(client: t.Any, page: str = "/admin/") -> t.Any:
    """Press Sign out in the menu bar of `page`: a POST with that page's CSRF token."""
    html = client.get(page).get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": csrf_token(html)})


def field_error(html: str, message: str) -> bool:
    """True when `message` is rendered as a field error (not merely somewhere on the page)."""
    return re.search(r'class="invalid-feedback">\s*<ul[^>]*>\s*<li>' + re.escape(message), html) \
        is not None

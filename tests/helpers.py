"""Small helpers that act as a person in a browser would: read the page, post the form."""

from __future__ import annotations

import re
import typing as t
from html import unescape
from html.parser import HTMLParser

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


class FormValues(HTMLParser):
    """What a browser posts for a page's record form, left as shown."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name") or ""
        if tag == "input" and name and a.get("type") != "submit" \
                and (a.get("type") != "checkbox" or "checked" in a):
            self.values[name] = a.get("value") or ("y" if a.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # A browser drops the newline that starts a textarea's text.
            text = self.values[self._textarea]
            self.values[self._textarea] = text[2:] if text.startswith("\r\n") else \
                text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str, marker: str = 'name="_revision"') -> dict[str, str]:
    """What a browser posts, left as shown, for the form on `html` that holds `marker`
    (by default the record form: the one carrying the revision it was opened at)."""
    at = html.index(marker)
    return FormValues(html[html.rindex("<form", 0, at):html.index("</form>", at)]).values

"""The Audit log screen: admins only, newest first, filtered by event, area and email."""

from __future__ import annotations

import re
from datetime import timedelta

from admin_app.models.kept import now
from admin_app.security import audit
from admin_app.security.audit import AuditEvent

from .helpers import ADMIN_EMAIL, login, sign_out


def rows(html: str) -> list[tuple[str, ...]]:
    """The table's rows as (event words, area, login, by) tuples, top to bottom."""
    body = html.split('id="audit-log"', 1)[1].split("</table>", 1)[0]
    return [tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in cells[1:5])
            for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
                          for row in re.findall(r"<tr class=\"audit-[^\"]+\">(.*?)</tr>",
                                                body, re.S))]


def test_sign_in_failure_and_sign_out_show_newest_first(app):
    client = app.test_client()
    assert login(client, ADMIN_EMAIL, "not the password").status_code == 401
    assert login(client).status_code == 302
    sign_out(client)
    assert login(client).status_code == 302
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "Audit log" in html
    assert rows(html) == [
        ("Signed in", "admin", ADMIN_EMAIL, ADMIN_EMAIL),
        ("Signed out", "admin", ADMIN_EMAIL, ADMIN_EMAIL),
        ("Signed in", "admin", ADMIN_EMAIL, ADMIN_EMAIL),
        ("Sign-in failed", "admin", ADMIN_EMAIL, "—"),
    ]
    assert "wrong password" in html, "the admin sees why; the visitor was not told"


def test_filters_by_event_area_and_email(client):
    audit.record("sign_in_failed", subject="ann@example.com", area="portal", actor="")
    audit.record("lockout", subject="ann@example.com", area="portal", actor="")
    audit.record("login_created", subject="bob@example.com", area="cli", actor="ops")
    audit.record("role_changed", subject="bob@example.com", actor="ann@example.com")

    def shown(query: str) -> list[tuple[str, ...]]:
        response = client.get("/admin/audit/?" + query)
        assert response.status_code == 200
        return rows(response.get_data(as_text=True)) \
            if 'id="audit-log"' in response.get_data(as_text=True) else []

    assert shown("event=lockout") == [("Locked out", "portal", "ann@example.com", "—")]
    assert [row[0] for row in shown("area=portal")] == ["Locked out", "Sign-in failed"]
    # An email matches the login an event concerns and the login that did it.
    assert [row[0] for row in shown("email=Ann@Example.com")] \
        == ["Role changed", "Locked out", "Sign-in failed"]
    assert shown("event=sign_in_failed&area=portal&email=ann@example.com") \
        == [("Sign-in failed", "portal", "ann@example.com", "—")]
    assert shown("area=cli") == [("Login created", "cli", "bob@example.com", "ops")]
    page = client.get("/admin/audit/?event=lockout").get_data(as_text=True)
    assert '<option value="lockout" selected>' in page, "the form shows the filter in use"


def test_filters_are_literal_text_never_operators(client):
    audit.record("lockout", subject="ann@example.com", actor="")
    for query in ("email=%7B%22%24ne%22%3A+null%7D", "event=%7B%22%24gt%22%3A%22%22%7D",
                  "area=.*", "email=.*"):
        html = client.get("/admin/audit/?" + query).get_data(as_text=True)
        assert "No entry matches these filters." in html, query
        assert "ann@example.com" not in html, query
    # Operator-shaped names are no filter of this screen: refused, or at most ignored.
    for query in ("email[$ne]=x", "event[$ne]=", "area[$regex]=.*"):
        response = client.get("/admin/audit/?" + query)
        assert response.status_code in (200, 400), query
        if response.status_code == 200:
            assert "No entry matches" not in response.get_data(as_text=True)


def test_pages_hold_fifty_entries_and_keep_the_filters(client):
    start = now()
    for n in range(60):
        AuditEvent(event="sign_in_failed", subject=f"user{n}@example.com", area="portal",
                   at=start + timedelta(seconds=n)).save()
    first = client.get("/admin/audit/?area=portal").get_data(as_text=True)
    assert len(rows(first)) == 50
    assert rows(first)[0][2] == "user59@example.com"
    assert "Page 1 of 2" in first
    assert "/admin/audit/?page=1&amp;area=portal" in first
    second = client.get("/admin/audit/?page=1&area=portal").get_data(as_text=True)
    assert [row[2] for row in rows(second)] == [f"user{n}@example.com" for n in range(9, -1, -1)]


def test_what_visitors_typed_is_shown_as_text(client):
    audit.record("sign_in_failed", subject='<img src=x onerror="alert(1)">@example.com',
                 detail="<b>bold</b>")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<b>bold</b>" not in html


def test_agents_get_403(agent_client):
    assert agent_client.get("/admin/audit/").status_code == 403
    assert 'href="/admin/audit/"' not in agent_client.get("/admin/").get_data(as_text=True)


def test_anonymous_visitors_get_the_sign_in_page(app):
    response = app.test_client().get("/admin/audit/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_admins_find_it_in_the_menu(client):
    assert 'href="/admin/audit/"' in client.get("/admin/").get_data(as_text=True)

"""One table of values through every way in: the record form, the seed load, the portal's
My details and the REST API must give the same verdict and the same message.

The rows are the rulebook's table (`test_rulebook.ROWS`: good and bad values of every
type, lengths, patterns, ranges, a mandatory field) and more: several choices, a field
mandatory only on the Org Level, and a reference. Each row says what a person types,
what a file or a request carries, and what every way must say (None: accepted).

Two ways are left out where they cannot take part, not where they disagree: the portal
shows customers their own Customer-Level record and never offers references; a seed
file names a referenced record by its natural key, not its id, so the reference row is
the form's and the API's.
"""

from __future__ import annotations

import json
import re
import typing as t
from html import unescape

import pytest
from bson import ObjectId

from admin_app import importer
from admin_app.customising.fields import add_field
from admin_app.models import Customer, User
from admin_app.security import api_tokens

from .helpers import ADMIN_EMAIL, csrf_token, login, opened_state
from .test_rulebook import FIELDS, ROWS

FORM, FILE, PORTAL, API = "form", "file", "portal", "api"
EVERY_WAY = (FORM, FILE, PORTAL, API)
GUEST, GUEST_PASSWORD = "guest@example.com", "plum orchard wheelbarrow 42"
MISSING = str(ObjectId())

MORE_FIELDS = [
    ("channels", "Channels", "multichoice", {"choices": ["Email", "Phone", "Chat"]}),
    ("org_code", "Org Code", "text", {"mandatory": ["Org"]}),
]
# (field, Level, as typed, as a file or request carries it, message, the ways it goes)
MORE_ROWS: list[tuple[str, str, t.Any, t.Any, str | None, tuple[str, ...]]] = [
    ("channels", "Customer", ["Chat", "Email"], ["Chat", "Email"], None, EVERY_WAY),
    ("channels", "Customer", ["Fax"], ["Fax"],
     "Channels must be chosen from: Email, Phone, Chat (Fax is not one of them).", EVERY_WAY),
    ("channels", "Customer", ["Chat", "Chat"], ["Chat", "Chat"],
     "Channels lists Chat more than once.", EVERY_WAY),
    ("org_code", "Org", "", "", "Org Code is mandatory.", (FORM, FILE, API)),
    ("org_code", "Org", "ORG-1", "ORG-1", None, (FORM, FILE, API)),
    ("org_code", "Customer", "", "", None, EVERY_WAY),  # mandatory on Org only
    ("contract", "Customer", MISSING, MISSING,
     "The chosen Contract no longer exists; choose again.", (FORM, API)),
]
TABLE = [(field, "Customer", typed, written, message, EVERY_WAY)
         for field, typed, written, message in ROWS] + MORE_ROWS


@pytest.fixture
def desk(store_app):
    """The custom fields, shown on the forms and editable on the portal, a WebGuest and a
    token."""
    with store_app.app_context():
        for name, label, kind, attributes in FIELDS + MORE_FIELDS:
            portal = {} if name == "org_code" else {"customer_visible": True,
                                                    "customer_editable": True}
            add_field("customer", name, label, kind,
                      sections={"Customer": "Customer", "Org": "Organisation"},
                      **attributes, **portal)
        customer = Customer(level="Customer", name="Guest", email=GUEST, cost_centre="CC1")
        customer.save()
        guest = User(email=GUEST, role="webguest", customer=customer)
        guest.set_password(GUEST_PASSWORD)
        guest.save()
        secret = api_tokens.create(User.objects.get(email=ADMIN_EMAIL), "read-write").secret
    return store_app, secret


def _error_in(html: str) -> str | None:
    found = re.findall(r'class="invalid-feedback"[^>]*>\s*(?:<ul[^>]*>\s*<li>)?([^<]*)<', html)
    return unescape(found[0]).strip() if found else None


def _base(level: str) -> dict[str, t.Any]:
    return {"level": level, "cost_centre": "CC1"}


def form_verdict(client: t.Any, number: int, field: str, level: str, typed: t.Any) -> str | None:
    page = client.get(f"/admin/customer/new/?level={level}").get_data(as_text=True)
    values = {"csrf_token": csrf_token(page), "name": f"Form {number}", "_ok": "OK",
              **_base(level), field: typed}
    answer = client.post("/admin/customer/new/", data=values)
    if answer.status_code == 302:
        return None
    message = _error_in(answer.get_data(as_text=True))
    assert message, f"row {number}: the form neither saved nor showed an error"
    return message


def file_verdicts(tmp_path: t.Any, rows: list[tuple[int, str, str, t.Any]]) -> dict[int, t.Any]:
    """A file's records go in its list for their Level: customers, orgs."""
    lists: dict[str, list[dict[str, t.Any]]] = {"customers": [], "orgs": []}
    positions = {}
    for n, field, level, written in rows:
        kind = "orgs" if level == "Org" else "customers"
        lists[kind].append({"name": f"File {n}", "cost_centre": "CC1", field: written})
        positions[n] = f"parity.json {kind} #{len(lists[kind])}"
    path = tmp_path / "parity.json"
    path.write_text(json.dumps(lists), encoding="utf-8")
    failed = {f.position: f.message for f in importer.load([path]).failures}
    return {n: failed.get(position) for n, position in positions.items()}


def portal_verdict(client: t.Any, number: int, field: str, typed: t.Any) -> str | None:
    page = client.get("/portal/details/edit").get_data(as_text=True)
    values = {"csrf_token": csrf_token(page), **opened_state(page), "cost_centre": "CC1",
              field: typed}
    answer = client.post("/portal/details/edit", data=values)
    if answer.status_code == 302:
        return None
    message = _error_in(answer.get_data(as_text=True))
    assert message, f"row {number}: the portal neither saved nor showed an error"
    return message


def api_verdict(client: t.Any, secret: str, number: int, field: str, level: str,
                written: t.Any) -> str | None:
    answer = client.post("/api/v1/customers", data=json.dumps(
        {"name": f"Api {number}", **_base(level), field: written}),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    if answer.status_code == 201:
        return None
    assert answer.status_code == 422, answer.get_data(as_text=True)
    errors = {e["field"]: e["message"] for e in answer.get_json()["errors"]}
    return errors.get(field) or " / ".join(errors.values())


def test_every_way_in_gives_the_same_verdict_and_message(desk, tmp_path):
    app, secret = desk
    said: dict[str, dict[int, t.Any]] = {way: {} for way in EVERY_WAY}
    with app.test_client() as client:
        assert login(client).status_code == 302
        for n, (field, level, typed, _w, _m, ways) in enumerate(TABLE):
            if FORM in ways:
                said[FORM][n] = form_verdict(client, n, field, level, typed)
    with app.test_client() as client:
        assert client.post("/portal/", data={
            "csrf_token": csrf_token(client.get("/portal/").get_data(as_text=True)),
            "email": GUEST, "password": GUEST_PASSWORD}).status_code == 302
        for n, (field, _level, typed, _w, _m, ways) in enumerate(TABLE):
            if PORTAL in ways:
                said[PORTAL][n] = portal_verdict(client, n, field, typed)
    with app.app_context():
        said[FILE] = file_verdicts(tmp_path, [(n, field, level, written) for n, (
            field, level, _t, written, _m, ways) in enumerate(TABLE) if FILE in ways])
    client = app.test_client()
    for n, (field, level, _typed, written, _m, ways) in enumerate(TABLE):
        if API in ways:
            said[API][n] = api_verdict(client, secret, n, field, level, written)
    differing = [(n, field, level, typed, message, {w: said[w][n] for w in ways})
                 for n, (field, level, typed, _w, message, ways) in enumerate(TABLE)
                 if any(said[w][n] != message for w in ways)]
    assert not differing, "row, field, Level, typed, expected, what each way said:\n" + \
        "\n".join(map(repr, differing))
    assert sum(len(v) for v in said.values()) > 4 * len(ROWS)  # every way took part

"""Make WebGuest Login on a customer's record, on the demo data, as an agent and an admin."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import urlsplit

import mongoengine
import pytest

from admin_app import demo
from admin_app.mail import OutboxMessage
from admin_app.models import Customer, User
from admin_app.security import audit

from .conftest import make_app
from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, login, opened_state, submit

STRONG = "a long enough passphrase 42"
AGENT = "desk.agent@example.com"
ALICE = "alice.carter@acme.example"
_LINK = re.compile(r'id="set-password-link" type="text" readonly value="([^"]+)"')


@pytest.fixture
def demo_app(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        assert demo.load().ok
        agent = User(email=AGENT, role="agent")
        agent.set_password(STRONG)
        agent.save()
    yield app
    mongoengine.disconnect()


def signed_in(app, email: str, password: str = STRONG):
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


@pytest.fixture(params=["agent", "admin"])
def staff(request, demo_app):
    """The desk, signed in as an agent or as an admin: both make portal logins."""
    return signed_in(demo_app, *((AGENT, STRONG) if request.param == "agent"
                                 else (ADMIN_EMAIL, ADMIN_PASSWORD)))


def record(app, name: str) -> Customer:
    with app.app_context():
        return Customer.objects.get(name=name)


def edit_page(client, customer: Customer) -> str:
    response = client.get(f"/admin/customer/edit/?id={customer.pk}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def make_login(client, customer: Customer, email: str | None = None):
    url = f"/admin/webguest/?customer={customer.pk}"
    data = {} if email is None else {"email": email}
    if email is None:  # keep what the form offers
        page = client.get(url).get_data(as_text=True)
        data["email"] = unescape(re.search(r'<input [^>]*id="email"[^>]* value="([^"]*)"',
                                           page).group(1))
    return submit(client, url, data)


def link_path(response) -> str:
    match = _LINK.search(response.get_data(as_text=True))
    assert match, "the page shows no set-password link"
    return urlsplit(unescape(match.group(1))).path


def portal_sign_in(app, email: str, password: str = STRONG):
    client = app.test_client()
    response = submit(client, "/portal/", {"email": email, "password": password})
    return client, response


def test_a_customer_record_offers_make_webguest_login_and_an_org_does_not(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    page = edit_page(staff, alice)
    assert 'id="make-webguest-login"' in page
    assert "This customer cannot sign in to the portal yet." in page
    acme = record(demo_app, "Acme Manufacturing")
    assert 'id="portal-login"' not in staff.get(f"/admin/org/edit/?id={acme.pk}").get_data(
        as_text=True)
    assert staff.get(f"/admin/webguest/?customer={acme.pk}").status_code == 400


def test_the_desk_makes_a_login_that_the_customer_activates_with_the_link(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    form = staff.get(f"/admin/webguest/?customer={alice.pk}").get_data(as_text=True)
    assert f'value="{ALICE}"' in form  # the customer's email, offered as the username
    made = make_login(staff, alice)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    text = made.get_data(as_text=True)
    assert "Mail is not configured, so the link was not mailed" in text
    path = link_path(made)
    with demo_app.app_context():
        guest = User.objects.get(email=ALICE)
        assert guest.role == "webguest" and guest.customer_id == alice.pk
        assert not guest.password_hash
        assert sorted(e.event for e in audit.events(subject=ALICE)) == \
            ["login_created", "webguest_link_issued"]
    assert 'id="portal-login-state">awaiting password<' in edit_page(staff, alice)

    done = submit(demo_app.test_client(), path, {"password": STRONG, "confirm": STRONG})
    assert done.status_code == 302 and done.headers["Location"] == "/portal/"
    with demo_app.app_context():
        used = list(audit.events(event="webguest_link_used"))
        assert [(e.subject, e.area) for e in used] == [(ALICE, "portal")]
    assert 'id="portal-login-state">active<' in edit_page(staff, alice)
    _client, signed = portal_sign_in(demo_app, ALICE)
    assert signed.status_code == 302 and signed.headers["Location"].startswith("/portal/")


def test_the_username_is_editable_but_must_be_a_valid_unused_email(demo_app, staff):
    alice, chen = record(demo_app, "Alice Carter"), record(demo_app, "Chen Wei")
    refused = make_login(staff, alice, "not an email")
    assert "Enter a valid email address." in refused.get_data(as_text=True)
    taken = make_login(staff, alice, AGENT.upper())
    assert f"A login for {AGENT} already exists." in taken.get_data(as_text=True)
    assert make_login(staff, alice, "Alice.Portal@Example.com").status_code == 200
    with demo_app.app_context():
        assert User.objects.get(email="alice.portal@example.com").customer_id == alice.pk
        assert User.objects(role="webguest").count() == 1
    # One portal login per customer; another customer may not reuse the username either.
    again = staff.get(f"/admin/webguest/?customer={alice.pk}").get_data(as_text=True)
    assert 'id="webguest-form"' not in again
    assert 'id="portal-login-state">awaiting password<' in again
    reused = make_login(staff, chen, "alice.portal@example.com")
    assert "already exists" in reused.get_data(as_text=True)


def test_without_a_csrf_token_no_login_is_made(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    response = staff.post(f"/admin/webguest/?customer={alice.pk}", data={"email": ALICE})
    assert "security token is missing" in response.get_data(as_text=True)
    with demo_app.app_context():
        assert User.objects(role="webguest").count() == 0


def archive_with_the_form(app, client, customer: Customer, archived: bool) -> None:
    url = f"/admin/customer/edit/?id={customer.pk}"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), **opened_state(page), "name": customer.name,
            "level": "Customer", "email": customer.email, "_continue_editing": "Save"}
    if archived:
        data["archived"] = "y"
    assert client.post(url, data=data).status_code == 302


def archive_with_a_seed_file(app, client, customer: Customer, archived: bool, tmp_path) -> None:
    path = tmp_path / f"archive-{archived}.json"
    path.write_text(json.dumps({"customers": [{"name": customer.name, "email": customer.email,
                                               "archived": archived}]}))
    result = app.test_cli_runner().invoke(args=["seed", "load", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("archive", [archive_with_the_form, archive_with_a_seed_file])
def test_archiving_the_customer_shuts_the_portal_and_restoring_opens_it(demo_app, staff,
                                                                        archive, tmp_path):
    alice = record(demo_app, "Alice Carter")
    path = link_path(make_login(staff, alice))
    submit(demo_app.test_client(), path, {"password": STRONG, "confirm": STRONG})
    portal, _ = portal_sign_in(demo_app, ALICE)
    assert portal.get("/portal/details/").status_code == 200

    args = (tmp_path,) if archive is archive_with_a_seed_file else ()
    archive(demo_app, staff, alice, True, *args)
    assert 'id="portal-login-state">disabled because the customer is archived<' in \
        edit_page(staff, alice)
    assert portal.get("/portal/details/").status_code != 200  # its session is refused
    _again, refused = portal_sign_in(demo_app, ALICE)
    assert refused.status_code != 302

    archive(demo_app, staff, record(demo_app, "Alice Carter"), False, *args)
    assert 'id="portal-login-state">active<' in edit_page(staff, alice)
    _again, signed = portal_sign_in(demo_app, ALICE)
    assert signed.status_code == 302


def test_the_link_is_mailed_through_the_outbox_when_mail_is_configured(demo_app, staff):
    demo_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_TIMEOUT=1)
    made = make_login(staff, record(demo_app, "Alice Carter"))
    assert "The link has also been sent to" in made.get_data(as_text=True)
    with demo_app.app_context():
        message = OutboxMessage.objects.get(kind="password_link")
    assert message.to == ALICE and link_path(made) in message.body


def test_a_directory_customer_needs_no_link(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    with demo_app.app_context():
        Customer.objects(pk=alice.pk).update(set__directory={"connector": "corp", "key": "k1"})
    form = staff.get(f"/admin/webguest/?customer={alice.pk}").get_data(as_text=True)
    assert "they sign in to the portal with their directory password" in form
    made = make_login(staff, alice).get_data(as_text=True)
    assert 'id="set-password-link"' not in made and "No link is needed." in made
    assert "active (signs in with the directory password)" in edit_page(staff, alice)
    with demo_app.app_context():
        assert User.objects.get(email=ALICE).role == "webguest"
        assert not list(audit.events(event="webguest_link_issued"))


def test_an_archived_customer_gets_no_new_login(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    with demo_app.app_context():
        Customer.objects(pk=alice.pk).update(set__archived=True)
    assert "No portal login. This customer is archived." in edit_page(staff, alice)
    refused = make_login(staff, alice)
    assert "restore it before making a portal login" in refused.get_data(as_text=True)
    with demo_app.app_context():
        assert User.objects(role="webguest").count() == 0


def test_customer_text_is_shown_escaped(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    with demo_app.app_context():
        Customer.objects(pk=alice.pk).update(set__name="<script>alert(1)</script>")
    made = make_login(staff, alice).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in made
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in made
    admin = signed_in(demo_app, ADMIN_EMAIL, ADMIN_PASSWORD)
    listing = admin.get("/admin/logins/?role=webguest").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>alert" not in listing


def test_an_admin_resets_a_webguest_and_the_new_link_is_a_portal_link(demo_app):
    admin = signed_in(demo_app, ADMIN_EMAIL, ADMIN_PASSWORD)
    make_login(admin, record(demo_app, "Alice Carter"))
    with demo_app.app_context():
        guest = User.objects.get(email=ALICE)
    url = f"/admin/logins/login/{guest.pk}/reset/"
    path = link_path(submit(admin, url, {}))
    done = submit(demo_app.test_client(), path, {"password": STRONG, "confirm": STRONG})
    assert done.headers["Location"] == "/portal/"


def test_a_lost_link_is_replaced_until_the_password_is_set(demo_app, staff):
    alice = record(demo_app, "Alice Carter")
    first = link_path(make_login(staff, alice))
    assert 'id="webguest-new-link"' in edit_page(staff, alice)
    second = link_path(submit(staff, f"/admin/webguest/?customer={alice.pk}", {}))
    assert demo_app.test_client().get(first).status_code == 410
    submit(demo_app.test_client(), second, {"password": STRONG, "confirm": STRONG})
    page = staff.get(f"/admin/webguest/?customer={alice.pk}").get_data(as_text=True)
    assert 'id="new-webguest-link"' not in page  # a password set is a reset's business
    assert 'id="webguest-new-link"' not in edit_page(staff, alice)
    with demo_app.app_context():
        assert len(list(audit.events(event="webguest_link_issued"))) == 2

"""Tickets through the REST API, on both stores: logged and closed with the ticket
screen's behaviours (brought-forward values copied from the customer, the SLA's due
times, the closure notice in the outbox with News on Closure, sent to a real SMTP
server), refused with the screen's words, listed newest first with a cursor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from admin_app.mail import OutboxMessage
from admin_app.models import SLA, Contact, Ticket
from admin_app.records.history import RecordChange

from .api_client import API, Api, conforms, errors_of, problem, token_for
from .helpers import field_error
from .servers import smtp_server
from .test_mail import body_of, use_server
from .test_tickets import DEFAULT_COPIED, log, new_customer, new_org

ORG_NEWS = "Acme's offices close early on Friday."
CUSTOMER_NEWS = "Your new laptop arrives on Monday."


@pytest.fixture
def api(store_app) -> Api:
    return token_for(store_app)


@pytest.fixture
def alice(store_app):
    """A customer of an Org, each with News on Closure; the Org has an SLA."""
    with store_app.app_context():
        sla = SLA(name="Premium", response_hours=2, resolution_hours=8).save()
        org = new_org(news_on_closure=ORG_NEWS, sla=sla.pk)
        return new_customer(org=org.pk, news_on_closure=CUSTOMER_NEWS)


def stored_ticket(app, oid: str) -> dict:
    with app.app_context():
        return Ticket._get_collection().find_one({"_id": ObjectId(oid)})


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(OutboxMessage.objects)


# -- logging one -----------------------------------------------------------------------------

def test_a_ticket_is_logged_with_201_location_and_the_customers_values_brought_forward(
        api, store_app, alice):
    answer = api.send("POST", "tickets", {"customer": str(alice.pk),
                                          "summary": "  Printer jams  ",
                                          "description": "On floor 2."})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert answer.headers["Location"] == f"{API}/tickets/{body['id']}"
    assert body["summary"] == "Printer jams" and body["status"] == "open"  # as the form trims
    assert body["brought_forward"] == {n: v for n, (_l, v) in DEFAULT_COPIED.items()}
    assert body["brought_forward_labels"] == {n: lbl for n, (lbl, _v) in DEFAULT_COPIED.items()}
    assert body["email"] == "alice@acme.example" and body["closed_at"] is None
    document = stored_ticket(store_app, body["id"])
    assert document["customer"] == alice.pk
    assert document["brought_forward"]["department"] == "Finance"
    # The Org's SLA, with its due times from when the ticket was logged.
    with store_app.app_context():
        assert document["sla"] == SLA.objects.get(name="Premium").pk
    assert document["response_due"] - document["logged_at"] == timedelta(hours=2)
    assert document["resolution_due"] - document["logged_at"] == timedelta(hours=8)
    assert api.send("GET", answer.headers["Location"]).get_json() == body
    conforms(store_app, body, "Ticket")
    conforms(store_app, api.send("GET", "tickets").get_json(), "TicketList")
    # Logging a ticket changes no customer record: no history is written for one.
    with store_app.app_context():
        assert RecordChange.objects(record=alice.pk).count() == 0
    assert outbox(store_app) == []  # an open ticket sends nothing


def test_brought_forward_values_may_be_given_or_blanked_as_on_the_form(api, store_app, alice):
    answer = api.send("POST", "tickets", {
        "customer": str(alice.pk), "summary": "New desk",
        "brought_forward": {"location": "Leeds office", "phone_1": None}})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    copied = answer.get_json()["brought_forward"]
    assert copied["location"] == "Leeds office" and copied["phone_1"] is None
    assert copied["department"] == "Finance"  # not given: the customer's
    assert "phone_1" not in stored_ticket(store_app, answer.get_json()["id"])["brought_forward"]
    with store_app.app_context():  # the customer record itself is untouched
        alice.reload()
        assert alice.location == "Sheffield HQ"


def test_a_corrected_email_brought_forward_is_where_the_closure_notice_goes(
        api, store_app, alice):
    answer = api.send("POST", "tickets", {"customer": str(alice.pk), "summary": "Mail",
                                          "brought_forward": {"email": "a.c@acme.example"}})
    assert answer.get_json()["email"] == "a.c@acme.example"


def test_a_contact_of_the_customers_org_may_be_chosen(api, store_app, alice):
    with store_app.app_context():
        contact = Contact(name="Bob Org", customer=alice.org).save()
    answer = api.send("POST", "tickets", {"customer": str(alice.pk), "summary": "Hi",
                                          "contact": str(contact.pk)})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["contact"] == str(contact.pk)


# -- refusals: the screen's words ------------------------------------------------------------

def test_refusals_get_422_per_field_with_the_messages_the_ticket_screen_shows(
        api, store_app, alice):
    with store_app.app_context():
        stranger = new_customer(name="Zed Other")
        elsewhere = Contact(name="Not Alice's", customer=stranger.pk).save()
    bad = {"customer": str(alice.pk), "summary": "   ", "description": "x" * 20001,
           "status": "pending", "contact": str(elsewhere.pk)}
    body = problem(api.send("POST", "tickets", bad), 422)
    errors = errors_of(body)
    assert {n: code for n, (_l, code, _m) in errors.items()} == {
        "summary": "mandatory", "description": "too_long", "status": "not_a_choice",
        "contact": "not_a_contact"}
    assert errors["summary"][2] == "Summary is mandatory."
    # The same values on the ticket screen: each of the API's messages is a field error there.
    with store_app.test_client() as screen:
        from .helpers import login

        login(screen)
        html = log(screen, alice, summary="   ", description="x" * 20001, status="pending",
                   contact=str(elsewhere.pk)).get_data(as_text=True)
    for _label, _code, message in errors.values():
        assert field_error(html, message), message
    with store_app.app_context():
        assert Ticket.objects.count() == 0


def test_a_missing_or_unknown_customer_and_bad_brought_forward_values_are_refused(
        api, store_app, alice):
    errors = errors_of(problem(api.send("POST", "tickets", {"summary": "No one"}), 422))
    assert errors["customer"] == ("Customer", "mandatory",
                                  "Choose the customer this ticket is for.")
    gone = errors_of(problem(api.send("POST", "tickets", {"customer": str(ObjectId()),
                                                          "summary": "Gone"}), 422))
    assert gone["customer"] == ("Customer", "not_found",
                                "The chosen Customer no longer exists; choose again.")
    errors = errors_of(problem(api.send("POST", "tickets", {
        "customer": str(alice.pk), "summary": "S", "colour": "red", "logged_at": "now",
        "brought_forward": {"email": "not an address", "name": "X", "phone_1": 5}}), 422))
    assert errors["colour"][1] == "unknown_field" and errors["logged_at"][1] == "read_only"
    assert errors["brought_forward.email"] == ("Email", "invalid",
                                               "Email must be an email address.")
    assert errors["brought_forward.name"][1] == "unknown_field"  # not brought forward
    assert errors["brought_forward.phone_1"][2] == \
        "Phone 1 must be text, not a number, list or object."
    assert errors_of(problem(api.send("POST", "tickets", {"customer": str(alice.pk),
                                                          "summary": 7}), 422))["summary"][1] \
        == "invalid"
    with store_app.app_context():
        assert Ticket.objects.count() == 0


# -- closing -----------------------------------------------------------------------------------

def test_closing_queues_the_closure_notice_with_news_on_closure_and_a_second_close_is_409(
        api, store_app, alice):
    logged = api.send("POST", "tickets", {"customer": str(alice.pk), "summary": "Printer"})
    oid = logged.get_json()["id"]
    closed = api.send("POST", f"tickets/{oid}/close")
    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert closed.get_json()["status"] == "closed" and closed.get_json()["closed_at"]
    conforms(store_app, closed.get_json(), "Ticket")
    assert stored_ticket(store_app, oid)["status"] == "closed"
    [message] = outbox(store_app)
    assert message.kind == "closure" and str(message.ticket) == oid
    assert message.to == "alice@acme.example"
    assert message.status == "queued"  # no mail server configured: it waits, in words
    assert f"News on Closure (Customer: Alice Carter):\n{CUSTOMER_NEWS}" in message.body
    assert f"News on Closure (Org: Acme Manufacturing):\n{ORG_NEWS}" in message.body
    again = problem(api.send("POST", f"tickets/{oid}/close"), 409)
    assert "already closed" in again["detail"]
    assert len(outbox(store_app)) == 1  # one closing, one notice


def test_closing_sends_the_notice_to_a_real_smtp_server(api, store_app, alice):
    with smtp_server() as server:
        use_server(store_app, server.port, MAIL_FROM="desk@example.com")
        oid = api.send("POST", "tickets", {"customer": str(alice.pk),
                                           "summary": "Laptop"}).get_json()["id"]
        assert api.send("POST", f"tickets/{oid}/close").status_code == 200
    assert [m["To"] for m in server.messages] == ["alice@acme.example"]
    assert "Laptop" in server.messages[0]["Subject"]
    assert CUSTOMER_NEWS in body_of(server.messages[0])
    assert outbox(store_app)[0].status == "sent"


def test_a_ticket_logged_closed_is_closed_through_the_one_close_with_its_notice(
        api, store_app, alice):
    answer = api.send("POST", "tickets", {"customer": str(alice.pk), "summary": "Done",
                                          "status": "closed"})
    assert answer.status_code == 201
    assert answer.get_json()["status"] == "closed" and answer.get_json()["closed_at"]
    assert [m.kind for m in outbox(store_app)] == ["closure"]


def test_a_ticket_is_not_changed_or_deleted_and_unknown_actions_are_404(api, store_app, alice):
    oid = api.send("POST", "tickets", {"customer": str(alice.pk),
                                       "summary": "Keep"}).get_json()["id"]
    for method in ("PATCH", "DELETE"):
        refused = api.send(method, f"tickets/{oid}", {"status": "closed"})
        assert "POST /api/v1/tickets/" in problem(refused, 405)["detail"]
        assert refused.headers["Allow"] == "GET"
    problem(api.send("POST", f"tickets/{oid}/reopen"), 404)
    problem(api.send("POST", f"tickets/{ObjectId()}/close"), 404)
    assert stored_ticket(store_app, oid)["status"] == "open"


# -- listing ---------------------------------------------------------------------------------

def test_the_list_is_newest_first_filtered_by_customer_and_status_with_cursor_paging(
        api, store_app, alice):
    with store_app.app_context():
        bob = new_customer(name="Bob Brown")
    made = []
    for number in range(5):
        made.append(api.send("POST", "tickets", {"customer": str(alice.pk),
                                                 "summary": f"A{number}"}).get_json()["id"])
    api.send("POST", "tickets", {"customer": str(bob.pk), "summary": "B0"})
    api.send("POST", f"tickets/{made[1]}/close")
    seen, url = [], f"tickets?customer={alice.pk}&limit=2"
    while url:
        answer = api.send("GET", url)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        seen += [t["summary"] for t in answer.get_json()["items"]]
        link = answer.headers.get("Link")
        url = link[1:link.index(">")] if link else ""
    assert seen == ["A4", "A3", "A2", "A1", "A0"]
    closed = api.send("GET", "tickets?status=closed").get_json()["items"]
    assert [t["summary"] for t in closed] == ["A1"]
    problem(api.send("GET", "tickets?status=pending"), 400)
    problem(api.send("GET", "tickets?customer=nobody"), 400)
    problem(api.send("GET", "tickets?after=%%%"), 400)


def test_paging_keeps_every_ticket_logged_in_the_same_millisecond(api, store_app, alice):
    """Tickets logged at one instant are counted off by the cursor, none lost or repeated."""
    with store_app.app_context():
        for number in range(5):
            ticket = Ticket(customer=alice.pk, summary=f"T{number}")
            ticket.save()
        moment = Ticket.objects.first().logged_at
        Ticket._get_collection().update_many({}, {"$set": {"logged_at": moment}})
    seen, url = [], "tickets?limit=2"
    while url:
        answer = api.send("GET", url)
        seen += [t["id"] for t in answer.get_json()["items"]]
        link = answer.headers.get("Link")
        url = link[1:link.index(">")] if link else ""
    assert len(seen) == 5 and len(set(seen)) == 5


# -- who -------------------------------------------------------------------------------------

def test_a_read_only_token_reads_tickets_but_gets_403_logging_or_closing(
        api, store_app, alice):
    oid = api.send("POST", "tickets", {"customer": str(alice.pk),
                                       "summary": "Read me"}).get_json()["id"]
    reader = token_for(store_app, "read")
    assert reader.send("GET", f"tickets/{oid}").status_code == 200
    assert reader.send("GET", "tickets").status_code == 200
    problem(reader.send("POST", "tickets", {"customer": str(alice.pk), "summary": "No"}), 403)
    problem(reader.send("POST", f"tickets/{oid}/close"), 403)
    assert stored_ticket(store_app, oid)["status"] == "open"
    assert outbox(store_app) == []
    with store_app.app_context():
        assert Ticket.objects.count() == 1


def test_an_agent_logs_and_closes_tickets_as_on_the_ticket_screen(store_app, alice):
    agent = token_for(store_app, email="agent@example.com", role="agent")
    oid = agent.send("POST", "tickets", {"customer": str(alice.pk),
                                         "summary": "By an agent"}).get_json()["id"]
    assert agent.send("POST", f"tickets/{oid}/close").status_code == 200

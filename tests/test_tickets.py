"""Logging a ticket for a customer: what it brings forward, shows and keeps.

On mongomock and on the embedded store where storage matters (`store_client`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

from admin_app.customising.fields import add_field, update_field
from admin_app.models import SLA, Contact, Contract, Customer, Ticket
from admin_app.models.kept import now
from admin_app.tickets import close, log_ticket

from .helpers import csrf_token, field_error, login, submit

DEFAULT_COPIED = {"department": ("Department", "Finance"), "location": ("Location", "Sheffield HQ"),
                  "phone_1": ("Phone 1", "+44 114 496 0101"),
                  "email": ("Email", "alice@acme.example")}


def new_org(name="Acme Manufacturing", **values):
    return Customer(name=name, level="Org", **values).save()


def new_customer(name="Alice Carter", **values):
    defaults = {name: value for name, (_label, value) in DEFAULT_COPIED.items()}
    return Customer(name=name, level="Customer", **{**defaults, **values}).save()


def ticket_page(client, record) -> str:
    response = client.get(f"/admin/ticket/new/?customer={record.pk}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def log(client, record, **data):
    """Submit the ticket form opened for `record`, sending what the page holds."""
    url = f"/admin/ticket/new/?customer={record.pk}"
    values = {f"bf_{name}": value for name, value in copied_inputs(ticket_page(client, record))
              .items()}
    return submit(client, url, {"customer": str(record.pk), "summary": "Printer jams",
                                "status": "open", **values, "_continue_editing": "Save",
                                **data})


def copied_inputs(html: str) -> dict[str, str]:
    """The brought-forward inputs of a ticket page: field name → the value it holds."""
    found = {}
    for tag in re.findall(r'<input[^>]*name="bf_[^"]*"[^>]*>', html):
        name = re.search(r'name="bf_([^"]*)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        found[name] = unescape(value.group(1)) if value else ""
    return found


def label_of(html: str, name: str) -> str:
    match = re.search(rf'<label for="bf_{name}"[^>]*>\s*(.*?)\s*(<|$)', html, re.S)
    return unescape(match.group(1)).strip() if match else ""


def news_items(html: str) -> list[tuple[str, str]]:
    """(title, text) of each item in the News pop-up, as the page shows them."""
    return [(unescape(title), unescape(text)) for title, text in re.findall(
        r'<h6 class="ticket-news-title">(.*?)</h6>\s*<p class="ticket-news-text">(.*?)</p>',
        html, re.S)]


def news_pops_up(html: str) -> bool:
    return bool(re.search(r'id="ticket-news"[^>]*data-show-on-load="1"', html, re.S))


# -- brought forward ----------------------------------------------------------------------

def test_a_ticket_for_a_customer_shows_the_four_default_brought_forward_values(store_client):
    alice = new_customer()
    html = ticket_page(store_client, alice)
    assert copied_inputs(html) == {name: value for name, (_l, value) in DEFAULT_COPIED.items()}
    assert {name: label_of(html, name) for name in DEFAULT_COPIED} == \
        {name: label for name, (label, _v) in DEFAULT_COPIED.items()}
    chosen = re.search(r'<input[^>]*name="customer"[^>]*>', html).group(0)
    assert f'value="{alice.pk}"' in chosen


def test_a_field_flagged_brought_forward_later_is_copied_on_the_next_ticket(store_client):
    alice = new_customer(cost_code="CC-12", phone_2="+44 114 496 0999")
    first = log(store_client, alice)
    assert first.status_code == 302
    with store_client.application.app_context():
        add_field("customer", "cost_code", "Cost Code", "text",
                  sections={"Customer": "Contact details"}, brought_forward=True)
        update_field("customer", "phone_2", brought_forward=True)
    html = ticket_page(store_client, alice)
    assert copied_inputs(html)["cost_code"] == "CC-12"
    assert label_of(html, "cost_code") == "Cost Code"
    assert copied_inputs(html)["phone_2"] == "+44 114 496 0999"
    assert log(store_client, alice, summary="Second").status_code == 302
    second = Ticket.objects.get(summary="Second")
    assert second.brought_forward["cost_code"] == "CC-12"
    assert second.brought_forward_labels["cost_code"] == "Cost Code"
    assert second.brought_forward["phone_2"] == "+44 114 496 0999"
    assert "cost_code" not in Ticket.objects.get(summary="Printer jams").brought_forward


def test_a_logged_ticket_keeps_what_was_copied_when_the_customer_is_edited(store_client):
    alice = new_customer()
    response = log(store_client, alice, bf_location="Plant 2 (visiting)")
    assert response.status_code == 302
    alice.department = "Audit"
    alice.save()
    with store_client.application.app_context():
        update_field("customer", "department", label="Cost Centre")
    ticket = Ticket.objects.get()
    assert ticket.brought_forward == {"department": "Finance", "location": "Plant 2 (visiting)",
                                      "phone_1": "+44 114 496 0101",
                                      "email": "alice@acme.example"}
    assert ticket.brought_forward_labels["department"] == "Department"
    assert ticket.email == "alice@acme.example"
    html = store_client.get(f"/admin/ticket/edit/?id={ticket.pk}").get_data(as_text=True)
    assert copied_inputs(html)["department"] == "Finance"
    assert label_of(html, "department") == "Department"
    # Saving the logged ticket again keeps its copies (and their labels).
    assert submit(store_client, f"/admin/ticket/edit/?id={ticket.pk}", {
        "summary": "Printer jams", "status": "open", "bf_department": "Finance",
        "bf_location": "Plant 2", "bf_phone_1": "+44 114 496 0101",
        "bf_email": "alice@acme.example"}).status_code == 302
    ticket.reload()
    assert ticket.brought_forward["location"] == "Plant 2"
    assert ticket.brought_forward_labels["department"] == "Department"


def test_brought_forward_values_are_checked_by_the_rulebook(store_client):
    alice = new_customer()
    response = log(store_client, alice, bf_email="not-an-email")
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "Email must be an email address.")
    assert Ticket.objects.count() == 0


def test_a_customer_and_a_summary_are_needed(store_client):
    response = submit(store_client, "/admin/ticket/new/", {"summary": "", "status": "open"})
    html = response.get_data(as_text=True)
    assert field_error(html, "Choose the customer this ticket is for.")
    assert field_error(html, "Summary is mandatory.")
    assert Ticket.objects.count() == 0


def test_the_customer_facts_endpoint_gives_what_choosing_the_customer_brings(client):
    sla = SLA(name="Premium", response_hours=1, resolution_hours=8).save()
    acme = new_org(news="Laptops are being replaced.", sla=sla.pk)
    alice = new_customer(org=acme.pk, news="VIP <script>alert(1)</script>")
    Contact(name="Priya Patel", customer=acme.pk).save()
    facts = client.get(f"/admin/ticket/customer-facts/?id={alice.pk}").get_json()
    assert [(item["field"], item["label"], item["value"]) for item in facts["brought_forward"]] \
        == [(f"bf_{n}", label, value) for n, (label, value) in DEFAULT_COPIED.items()]
    assert facts["news"] == [{"title": "Alice Carter", "text": "VIP <script>alert(1)</script>"},
                             {"title": "Acme Manufacturing", "text": "Laptops are being replaced."}]
    assert facts["sla"] == "Premium (from Acme Manufacturing)"
    assert facts["expired"] == []
    assert [c["name"] for c in facts["contacts"]] == ["Priya Patel"]
    missing = client.get("/admin/ticket/customer-facts/?id=000000000000000000000000")
    assert missing.status_code == 404


# -- News ------------------------------------------------------------------------------

def test_news_pops_up_for_a_customer_with_news_titled_with_its_name(store_client):
    alice = new_customer(news="VIP: escalate to the IT manager.")
    html = ticket_page(store_client, alice)
    assert news_pops_up(html)
    assert news_items(html) == [("Alice Carter", "VIP: escalate to the IT manager.")]


def test_news_pops_up_for_a_customer_whose_org_has_news(store_client):
    acme = new_org(news="Acme is migrating to new laptops.")
    bob = new_customer("Bob Singh", org=acme.pk)
    html = ticket_page(store_client, bob)
    assert news_pops_up(html)
    assert news_items(html) == [("Acme Manufacturing", "Acme is migrating to new laptops.")]
    both = new_customer("Chen Wei", org=acme.pk, news="VIP.")
    assert news_items(ticket_page(store_client, both)) == [
        ("Chen Wei", "VIP."), ("Acme Manufacturing", "Acme is migrating to new laptops.")]


def test_no_news_pop_up_for_a_customer_without_news(store_client):
    quiet = new_org("Northwind Traders", news="   ")
    dana = new_customer("Dana Okafor", org=quiet.pk)
    for record in (dana, quiet):
        html = ticket_page(store_client, record)
        assert not news_pops_up(html) and news_items(html) == []
    blank = store_client.get("/admin/ticket/new/").get_data(as_text=True)
    assert not news_pops_up(blank)


def test_markup_in_news_is_shown_as_text(store_client):
    alice = new_customer(news='<script>alert(1)</script><img src=x onerror=alert(2)>')
    html = ticket_page(store_client, alice)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html


# -- expiry --------------------------------------------------------------------------------

def test_an_expired_customer_warns_with_the_date_and_the_ticket_is_logged_and_marked(
        store_client):
    alice = new_customer(expiry_date=datetime(2024, 1, 31))
    html = ticket_page(store_client, alice)
    assert "Alice Carter&#39;s Expiry Date, 2024-01-31, has passed. You can still log the " \
           "ticket; it will be marked as logged past expiry." in html
    assert log(store_client, alice).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.expired_on == datetime(2024, 1, 31)
    page = store_client.get(f"/admin/ticket/edit/?id={ticket.pk}").get_data(as_text=True)
    assert "Logged past expiry: the expiry date 2024-01-31 had passed." in page


def test_a_passed_contract_expiry_date_warns_too(store_client):
    contract = Contract(name="Gold Support 2023", expiry_date=datetime(2023, 12, 31)).save()
    acme = new_org(contract=contract.pk)
    html = ticket_page(store_client, acme)
    assert "Contract Gold Support 2023 expired on 2023-12-31." in html
    assert log(store_client, acme).status_code == 302
    assert Ticket.objects.get().expired_on == datetime(2023, 12, 31)


def test_no_expiry_warning_until_the_day_after_the_expiry_date(store_client):
    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    alice = new_customer(expiry_date=today)
    assert "has passed" not in ticket_page(store_client, alice)
    assert log(store_client, alice).status_code == 302
    assert Ticket.objects.get().expired_on is None


# -- SLA ------------------------------------------------------------------------------------

def test_due_times_count_from_the_logging_time_with_the_customers_sla(store_client):
    premium = SLA(name="Premium", response_hours=1, resolution_hours=8).save()
    standard = SLA(name="Standard", response_hours=4, resolution_hours=40).save()
    acme = new_org(sla=standard.pk)
    alice = new_customer(org=acme.pk, sla=premium.pk)
    assert "Premium" in ticket_page(store_client, alice)
    assert log(store_client, alice).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.sla == premium.pk
    assert ticket.response_due - ticket.logged_at == timedelta(hours=1)
    assert ticket.resolution_due - ticket.logged_at == timedelta(hours=8)
    assert abs(ticket.logged_at - now()) < timedelta(minutes=1)


def test_a_customer_without_an_sla_gets_its_orgs(store_client):
    standard = SLA(name="Standard", response_hours=4, resolution_hours=40).save()
    bob = new_customer("Bob Singh", org=new_org(sla=standard.pk).pk)
    assert "Standard (from Acme Manufacturing)" in ticket_page(store_client, bob)
    assert log(store_client, bob).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.sla == standard.pk
    assert ticket.response_due == ticket.logged_at + timedelta(hours=4)
    assert ticket.resolution_due == ticket.logged_at + timedelta(hours=40)


def test_no_sla_no_due_times(client):
    alice = new_customer()
    assert "No SLA: neither this record nor its Org has one." in ticket_page(client, alice)
    ticket = log_ticket(alice, "Printer jams")
    assert (ticket.sla, ticket.response_due, ticket.resolution_due) == (None, None, None)


# -- contact, status, closing ---------------------------------------------------------------

def test_the_contact_is_one_of_the_customer_or_its_org(client):
    acme = new_org()
    alice = new_customer(org=acme.pk)
    priya = Contact(name="Priya Patel", customer=acme.pk).save()
    stranger = Contact(name="Someone Else", customer=new_org("Globex").pk).save()
    html = ticket_page(client, alice)
    assert "Priya Patel" in html and "Someone Else" not in html
    refused = log(client, alice, contact=str(stranger.pk))
    assert refused.status_code == 200
    assert field_error(refused.get_data(as_text=True),
                       "The chosen Contact is not a contact of this customer or of its Org")
    assert log(client, alice, contact=str(priya.pk)).status_code == 302
    assert Ticket.objects.get().contact == priya.pk


def notices() -> list[str]:
    """The closure notices in the outbox, oldest first (no mail server is set: they wait)."""
    from admin_app.mail.outbox import OutboxMessage

    return [(m.subject, m.to, m.status) for m in OutboxMessage.objects.order_by("created_at")]


def test_closing_a_ticket_on_the_form_sets_closed_at_and_queues_one_notice(store_client):
    alice = new_customer()
    ticket = log_ticket(alice, "Printer jams")
    url = f"/admin/ticket/edit/?id={ticket.pk}"
    data = {"summary": "Printer jams", "status": "closed", "bf_email": "alice@acme.example"}
    assert submit(store_client, url, data).status_code == 302
    ticket.reload()
    assert ticket.status == "closed" and ticket.closed_at is not None
    queued = [("Ticket closed: Printer jams", "alice@acme.example", "queued")]
    assert notices() == queued
    assert submit(store_client, url, data).status_code == 302  # saved again, still closed
    assert notices() == queued
    assert not close(ticket), "a closed ticket is not closed twice"
    assert notices() == queued
    assert submit(store_client, url, {**data, "status": "open"}).status_code == 302
    ticket.reload()
    assert (ticket.status, ticket.closed_at) == ("open", None)


def test_a_ticket_logged_as_closed_is_closed_with_a_notice(client):
    alice = new_customer()
    assert log(client, alice, status="closed").status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.status == "closed" and ticket.closed_at >= ticket.logged_at
    assert notices() == [("Ticket closed: Printer jams", "alice@acme.example", "queued")]


# -- lists ---------------------------------------------------------------------------------

def test_the_ticket_list_is_newest_first_and_searches_summaries(store_client):
    alice, bob = new_customer(), new_customer("Bob Singh")
    for number, record in enumerate((alice, bob, alice)):
        ticket = log_ticket(record, f"Ticket {number} [x]")
        ticket.logged_at = datetime(2026, 1, 1) + timedelta(days=number)
        ticket.save()
    html = store_client.get("/admin/ticket/").get_data(as_text=True)
    assert [m for m in re.findall(r"Ticket \d", html)] == ["Ticket 2", "Ticket 1", "Ticket 0"]
    assert "Alice Carter" in html and "Bob Singh" in html and "2026-01-03 00:00 UTC" in html
    found = store_client.get("/admin/ticket/?search=1+[x]").get_data(as_text=True)
    assert re.findall(r"Ticket \d", found) == ["Ticket 1"]
    mine = store_client.get(f"/admin/ticket/?customer={alice.pk}").get_data(as_text=True)
    assert re.findall(r"Ticket \d", mine) == ["Ticket 2", "Ticket 0"]
    assert "Tickets of" in mine and f"/admin/ticket/new/?customer={alice.pk}" in mine


def test_the_ticket_list_sorts_by_logged_or_status_keeping_each_status_in_order(
        store_client):
    """By status ascending: Closed first, each status newest first; descending: Open
    first, the longest waiting first. Summary (free text) is not offered for sorting."""
    alice = new_customer()
    for day, status in enumerate(("open", "closed", "open", "closed")):
        ticket = log_ticket(alice, f"Ticket {day} [x]", status=status)
        ticket.logged_at = datetime(2026, 1, 1) + timedelta(days=day)
        ticket.save()
    for query in ("", f"customer={alice.pk}&", "search=ticket&"):
        def order(sort, query=query):
            html = store_client.get(f"/admin/ticket/?{query}{sort}").get_data(as_text=True)
            return re.findall(r"Ticket (\d)", html)
        assert order("sort=3") == ["3", "1", "2", "0"], query
        assert order("sort=3&desc=1") == ["0", "2", "1", "3"], query
        assert order("sort=0") == ["0", "1", "2", "3"], query
        assert order("sort=2") == ["3", "2", "1", "0"], query  # not a sort: newest first
    page = store_client.get("/admin/ticket/").get_data(as_text=True)
    assert re.findall(r'href="[^"]*sort=(\d)', page) == ["0", "3"]


SEARCHED_TICKETS = {  # summary: description
    "Printer jams on floor 2": "Paper feed grinds since Monday.",
    "Laptop will not start": "Since this morning; the charger light is off.",
    "Password reset": None,
}


def listed(client, query: str) -> list[str]:
    """The summaries of SEARCHED_TICKETS the ticket list shows for `query`, in its order."""
    html = unescape(client.get(f"/admin/ticket/?{query}").get_data(as_text=True))
    cells = [" ".join(cell.split()) for cell in
             re.findall(r'<td class="col-summary">(.*?)</td>', html, flags=re.DOTALL)]
    return [cell for cell in cells if cell in SEARCHED_TICKETS]


def test_a_ticket_is_found_by_the_start_of_any_word_of_its_summary_or_description(
        store_client):
    alice, bob = new_customer(), new_customer("Bob Singh")
    for day, (summary, description) in enumerate(SEARCHED_TICKETS.items()):
        ticket = log_ticket(bob if summary.startswith("Password") else alice, summary,
                            description=description or "")
        ticket.logged_at = datetime(2026, 1, 1) + timedelta(days=day)
        ticket.save()
    everything = list(SEARCHED_TICKETS)
    assert sorted(listed(store_client, "")) == sorted(everything)
    assert listed(store_client, "search=print") == ["Printer jams on floor 2"]
    assert listed(store_client, "search=PRINTER") == ["Printer jams on floor 2"]
    assert listed(store_client, "search=grind") == ["Printer jams on floor 2"]  # description
    assert listed(store_client, "search=lap+charg") == ["Laptop will not start"]  # both
    assert listed(store_client, "search=since") == ["Laptop will not start",  # newest first
                                                    "Printer jams on floor 2"]
    # Not the middle of a word, not two tickets' words at once, not a pattern.
    for unmatched in ("rinter", "jams+laptop", "pa.sword", "floor+3", "%5Bx%5D"):
        assert listed(store_client, f"search={unmatched}") == [], unmatched
    # One customer's list searches only that customer's tickets.
    assert listed(store_client, f"customer={bob.pk}&search=since") == []
    assert listed(store_client, f"customer={alice.pk}&search=pass") == []
    assert listed(store_client, f"customer={bob.pk}&search=pass") == ["Password reset"]
    page = store_client.get("/admin/ticket/").get_data(as_text=True)
    assert 'placeholder="Search Summary, Description"' in page


def test_a_long_description_is_keyed_by_its_opening_words_only(store_client):
    """A 20,000-character description (a pasted log) is found by a word near its start;
    its later words are not keys, so the ticket's keys stay bounded."""
    alice = new_customer()
    later = " ".join(f"w{n:05d}x" for n in range(2500))  # 2,500 distinct 7-letter words
    description = ("Scanner offline since the upgrade. " + later)[:20000]
    assert len(description) == 20000
    ticket = log_ticket(alice, "Password reset", description=description)
    stored = Ticket._get_collection().find_one({"_id": ticket.pk})
    assert len(stored["search_keys"]) <= 200 + 12 * 100
    assert {"scanner", "upgrad", "passw"} <= set(stored["search_keys"])
    assert listed(store_client, "search=scann") == ["Password reset"]
    assert listed(store_client, "search=w00090x") == ["Password reset"]  # its 96th word
    assert listed(store_client, "search=w02000x") == []  # far below the opening words


def test_a_tickets_words_follow_its_edits_on_the_form_and_the_portal_logs_keyed_ones(
        store_client):
    alice = new_customer()
    ticket = log_ticket(alice, "Printer jams on floor 2")
    assert submit(store_client, f"/admin/ticket/edit/?id={ticket.pk}", {
        "summary": "Password reset", "description": "Locked out after the holiday.",
        "status": "open", "bf_email": "alice@acme.example"}).status_code == 302
    assert listed(store_client, "search=print") == []
    assert listed(store_client, "search=pass+hol") == ["Password reset"]
    closed = log_ticket(alice, "Laptop will not start", status="closed")
    assert closed.status == "closed"
    assert listed(store_client, "search=laptop") == ["Laptop will not start"]


def test_tickets_stored_before_search_keys_get_them_when_the_store_is_set_up(store_app):
    """An older store's tickets have no keys: `flask setup` gives them keys once, and
    says so."""
    with store_app.app_context():
        alice = new_customer()
        Ticket._get_collection().insert_one({  # as a version before keys stored it
            "customer": alice.pk, "summary": "Printer jams on floor 2", "status": "open",
            "logged_at": now(), "archived": False})
    with store_app.test_client() as client:
        assert login(client).status_code == 302
        assert listed(client, "") == ["Printer jams on floor 2"]
        assert listed(client, "search=printer") == []
        result = store_app.test_cli_runner().invoke(args=["setup", "--no-demo"])
        assert result.exit_code == 0, result.output
        assert "Records brought up to date: 1 ticket search keys." in result.output
        assert listed(client, "search=printer") == ["Printer jams on floor 2"]
        again = store_app.test_cli_runner().invoke(args=["setup", "--no-demo"])
        assert again.exit_code == 0 and "brought up to date" not in again.output


def test_customer_and_org_pages_list_their_tickets_ten_a_page_with_a_link_to_the_rest(
        store_client):
    acme = new_org()
    alice = new_customer(org=acme.pk)
    for number in range(12):
        ticket = log_ticket(alice, f"Alice ticket {number:02d}")
        ticket.logged_at = datetime(2026, 1, 1) + timedelta(hours=number)
        ticket.save()
    log_ticket(acme, "Acme ticket")
    html = store_client.get(f"/admin/customer/edit/?id={alice.pk}").get_data(as_text=True)
    section = html[html.index('id="linked-tickets"'):]
    assert re.findall(r"Alice ticket \d+", section) == \
        [f"Alice ticket {n:02d}" for n in range(11, 1, -1)]
    assert f'href="/admin/ticket/?customer={alice.pk}">All 12 tickets' in section
    assert f"/admin/ticket/new/?customer={alice.pk}" in section and "Log a ticket" in section
    org_page = store_client.get(f"/admin/org/edit/?id={acme.pk}").get_data(as_text=True)
    org_section = org_page[org_page.index('id="linked-tickets"'):]
    assert "Acme ticket" in org_section and "Alice ticket" not in org_section
    assert "All " not in org_section
    assert f"/admin/ticket/new/?customer={acme.pk}" in org_section


# -- access -----------------------------------------------------------------------------------

def test_an_agent_logs_tickets(agent_client):
    alice = new_customer()
    assert log(agent_client, alice).status_code == 302
    assert agent_client.get("/admin/ticket/").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(app):
    with app.test_client() as anonymous:
        for url in ("/admin/ticket/", "/admin/ticket/new/", "/admin/ticket/customer-facts/?id=x"):
            response = anonymous.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_ticket_form_needs_its_csrf_token_and_tickets_are_not_deleted(client):
    alice = new_customer()
    page = ticket_page(client, alice)
    assert csrf_token(page)
    refused = client.post("/admin/ticket/new/", data={"customer": str(alice.pk),
                                                      "summary": "No token", "status": "open"})
    assert refused.status_code == 200 and Ticket.objects.count() == 0
    ticket = log_ticket(alice, "Kept")
    assert "/admin/ticket/delete/" not in client.get("/admin/ticket/").get_data(as_text=True)
    client.post("/admin/ticket/delete/", data={"id": str(ticket.pk)})
    assert Ticket.objects(pk=ticket.pk).count() == 1


def test_a_contracts_expiry_date_loads_from_a_seed_file_and_exports_back(app, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "contracts.json"
    path.write_text('{"contracts": [{"name": "Gold", "expiry_date": "2027-03-31"},'
                    ' {"name": "Bad", "expiry_date": "31/03/2027"}]}', encoding="utf-8")
    result = runner.invoke(args=["seed", "load", str(path)])
    assert "Expiry date must be a date written YYYY-MM-DD." in result.output
    assert Contract.objects.get(name="Gold").expiry_date.isoformat() == "2027-03-31"
    out = tmp_path / "out.json"
    assert runner.invoke(args=["seed", "export", str(out), "--entity", "contracts"]).exit_code == 0
    assert '"expiry_date": "2027-03-31"' in out.read_text(encoding="utf-8")


def test_one_records_ticket_list_keeps_to_that_record_across_pages(client):
    alice, bob = new_customer(), new_customer("Bob Singh")
    for number in range(25):
        log_ticket(alice, f"Alice ticket {number:02d}")
    log_ticket(bob, "Bob ticket")
    first = client.get(f"/admin/ticket/?customer={alice.pk}").get_data(as_text=True)
    assert "Bob ticket" not in first
    next_page = unescape(re.search(r'href="([^"]*page=1[^"]*)"', first).group(1))
    assert f"customer={alice.pk}" in next_page
    second = client.get(next_page).get_data(as_text=True)
    assert len(re.findall(r"Alice ticket \d+", second)) == 5 and "Bob ticket" not in second


def test_closing_on_the_form_queues_the_real_closure_notice(store_client):
    """The seam with `admin_app.mail`: with no mail server set, the notice waits."""
    from admin_app.mail.outbox import OutboxMessage

    ticket = log_ticket(new_customer(news_on_closure="Thank you for calling."), "Printer")
    url = f"/admin/ticket/edit/?id={ticket.pk}"
    # The token the News on Closure pop-up puts in the form (see test_closure_news.py).
    seen = re.search(r'id="ticket-closure-news"[^>]*data-token="([^"]*)"',
                     store_client.get(url).get_data(as_text=True)).group(1)
    assert submit(store_client, url, {
        "summary": "Printer", "status": "closed", "closure_news_seen": seen,
        "bf_email": "alice@acme.example"}).status_code == 302
    ticket.reload()
    assert ticket.status == "closed"
    notice = OutboxMessage.objects.get(ticket=ticket.pk)
    assert (notice.to, notice.status) == ("alice@acme.example", "queued")
    assert "Thank you for calling." in notice.body

"""News on Closure when an agent closes a ticket, on both stores: what the ticket pages and
the closure-news endpoint carry, who may ask for it, and the way without JavaScript (a
closing save that did not show the news is stopped and shows it on the page; the next
save closes the ticket and sends the notice).

The browser's side (the pop-up, the keyboard, the order against the mail) is
test_closure_news_browser.py.
"""

from __future__ import annotations

import re
from html import unescape

from admin_app.customising.fields import update_field
from admin_app.mail.outbox import OutboxMessage
from admin_app.models import Customer, Ticket, User
from admin_app.tickets import log_ticket

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, form_values, login, submit

CUSTOMER_NEWS = "Your replacement laptop ships on Monday."
ORG_NEWS = "Acme's offices close early on Friday."
MARKUP = "<script>alert(1)</script><b>bold</b> & <img src=x onerror=alert(2)>"
STRONG = "a long enough passphrase 42"


def alice_of_acme(customer_news: str = CUSTOMER_NEWS, org_news: str = ORG_NEWS) -> Customer:
    acme = Customer(name="Acme Manufacturing", level="Org", news_on_closure=org_news).save()
    return Customer(name="Alice Carter", level="Customer", org=acme.pk,
                    email="alice@acme.example", news_on_closure=customer_news).save()


def edit_url(ticket: Ticket) -> str:
    return f"/admin/ticket/edit/?id={ticket.pk}"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def closure_items(html: str, within: str = 'id="ticket-closure-news-body"'
                  ) -> list[tuple[str, str]]:
    """(title, text) of each News on Closure item in the block `within` opens: the pop-up's
    body, or the panel a stopped save shows (`id="closure-news-confirm"`)."""
    start = html.index(within)
    return [(unescape(title), unescape(text)) for title, text in re.findall(
        r'<h6 class="closure-news-title">(.*?)</h6>\s*'
        r'<p class="closure-news-text ticket-news-text">(.*?)</p>',
        html[start:html.index("</div>", start)], re.S)]


def dialog_attribute(html: str, name: str) -> str:
    tag = re.search(r'<div class="modal fade" id="ticket-closure-news"[^>]*>', html, re.S)
    assert tag, "the page has no News on Closure pop-up"
    return unescape(re.search(rf'{name}="([^"]*)"', tag.group(0)).group(1))


def post_form(client, url: str, html: str, **changes: str):
    """Post the ticket form as a browser without JavaScript would: what the page holds,
    with the agent's `changes`, pressing Save."""
    values = {**form_values(html, 'id="ticket-form"'), **changes, "_continue_editing": "Save"}
    return client.post(url, data=values)


def notices() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.order_by("created_at"))


BOTH = [("News on Closure (Customer: Alice Carter)", CUSTOMER_NEWS),
        ("News on Closure (Org: Acme Manufacturing)", ORG_NEWS)]


# -- what the pages and the endpoint carry ----------------------------------------------------

def test_an_open_tickets_page_carries_the_customers_and_orgs_news_on_closure(store_client):
    ticket = log_ticket(alice_of_acme(), "Printer jams")
    html = page(store_client, edit_url(ticket))
    assert closure_items(html) == BOTH
    assert dialog_attribute(html, "data-customer") == str(ticket.customer)
    assert dialog_attribute(html, "data-show-on-load") == ""  # only when Closed is chosen
    assert 'id="closure-news-confirm"' not in html
    # The new-ticket form opened for the customer carries the same.
    assert closure_items(page(store_client, f"/admin/ticket/new/?customer={ticket.customer}")) \
        == BOTH


def test_the_endpoint_gives_the_news_and_the_token_the_page_holds(store_client):
    ticket = log_ticket(alice_of_acme(), "Printer jams")
    html = page(store_client, edit_url(ticket))
    response = store_client.get(f"/admin/ticket/closure-news/?customer={ticket.customer}")
    assert response.status_code == 200 and response.is_json
    assert response.get_json() == {
        "customer": str(ticket.customer), "heading": "News on Closure",
        "token": dialog_attribute(html, "data-token"),
        "news": [{"title": title, "text": text} for title, text in BOTH]}


def test_a_customer_without_news_on_closure_brings_none(store_client):
    ticket = log_ticket(alice_of_acme(customer_news="", org_news="  "), "Printer jams")
    html = page(store_client, edit_url(ticket))
    assert closure_items(html) == [] and "closure-news-item" not in html
    response = store_client.get(f"/admin/ticket/closure-news/?customer={ticket.customer}")
    assert response.get_json()["news"] == []
    # Nothing to show, so nothing stops the close: one save closes it and sends the notice.
    assert post_form(store_client, edit_url(ticket), html, status="closed").status_code == 302
    ticket.reload()
    assert ticket.status == "closed" and len(notices()) == 1


def test_markup_in_news_on_closure_is_text_on_the_page(store_client):
    ticket = log_ticket(alice_of_acme(customer_news=MARKUP), "Printer jams")
    html = page(store_client, edit_url(ticket))
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; &lt;img" in html
    assert closure_items(html)[0] == ("News on Closure (Customer: Alice Carter)", MARKUP)
    # The endpoint sends it as data, for the browser to insert as text.
    response = store_client.get(f"/admin/ticket/closure-news/?customer={ticket.customer}")
    assert response.get_json()["news"][0]["text"] == MARKUP


def test_the_relabelled_field_heads_the_pop_up_and_a_retired_one_brings_nothing(store_client):
    ticket = log_ticket(alice_of_acme(), "Printer jams")
    update_field("customer", "news_on_closure", label="Parting Words")
    html = page(store_client, edit_url(ticket))
    assert re.search(r'id="ticket-closure-news-title">Parting Words<', html)
    assert closure_items(html)[0][0] == "Parting Words (Customer: Alice Carter)"
    update_field("customer", "news_on_closure", retired=True)
    html = page(store_client, edit_url(ticket))
    assert closure_items(html) == []
    assert post_form(store_client, edit_url(ticket), html, status="closed").status_code == 302
    assert "Your replacement laptop" not in notices()[0].body


def test_an_unknown_customer_is_told_in_words(store_client):
    response = store_client.get("/admin/ticket/closure-news/?customer=0123456789abcdef01234567")
    assert response.status_code == 404
    assert response.get_json() == {"error": "That customer record does not exist (any more)."}
    assert store_client.get("/admin/ticket/closure-news/?customer=nonsense").status_code == 404


# -- who may ask -------------------------------------------------------------------------------

def test_agents_and_admins_reach_the_endpoint_a_webguest_and_a_stranger_do_not(store_app):
    with store_app.app_context():
        alice = alice_of_acme()
        for email, role, customer in (("alice@acme.example", "webguest", alice),
                                      ("agent@example.com", "agent", None)):
            user = User(email=email, role=role, customer=customer)
            user.set_password(STRONG)
            user.save()
    url = f"/admin/ticket/closure-news/?customer={alice.pk}"
    # Clients one after another: a client kept open would lend its signed-in user to the next.
    for email, password in ((ADMIN_EMAIL, ADMIN_PASSWORD), ("agent@example.com", STRONG)):
        staff = store_app.test_client()
        assert login(staff, email, password).status_code == 302
        assert [item["text"] for item in staff.get(url).get_json()["news"]] == \
            [CUSTOMER_NEWS, ORG_NEWS], email
    guest = store_app.test_client()
    assert submit(guest, "/portal/", {"email": "alice@acme.example",
                                      "password": STRONG}).status_code == 302
    assert guest.get("/portal/details/").status_code == 200  # signed in, on the portal
    refused = guest.get(url)
    assert refused.status_code == 403 and CUSTOMER_NEWS not in refused.get_data(as_text=True)
    sent_away = store_app.test_client().get(url)
    assert sent_away.status_code == 302 and "/login" in sent_away.headers["Location"]


# -- the way without JavaScript -----------------------------------------------------------------

def test_without_javascript_the_closing_save_shows_the_news_first_then_closes(store_client):
    ticket = log_ticket(alice_of_acme(), "Printer jams")
    url = edit_url(ticket)
    stopped = post_form(store_client, url, page(store_client, url), status="closed")
    assert stopped.status_code == 200
    html = stopped.get_data(as_text=True)
    assert closure_items(html, 'id="closure-news-confirm"') == BOTH
    assert "Nothing was saved yet: closing this ticket sends its closure notice" in html
    assert dialog_attribute(html, "data-show-on-load") == "1"  # with JavaScript: the pop-up
    ticket.reload()
    assert ticket.status == "open" and ticket.closed_at is None and notices() == []
    # Pressing Save again on that page closes the ticket and sends the notice.
    assert post_form(store_client, url, html).status_code == 302
    ticket.reload()
    assert ticket.status == "closed" and ticket.closed_at is not None
    [notice] = notices()
    assert CUSTOMER_NEWS in notice.body and ORG_NEWS in notice.body


def test_news_edited_after_it_was_shown_is_shown_again_before_the_close(store_client):
    alice = alice_of_acme()
    ticket = log_ticket(alice, "Printer jams")
    url = edit_url(ticket)
    html = page(store_client, url)  # as the pop-up shows it, with its token
    seen = dialog_attribute(html, "data-token")
    Customer.objects(pk=alice.pk).update_one(set__news_on_closure="Now closed on Mondays.")
    stopped = post_form(store_client, url, html, status="closed", closure_news_seen=seen)
    assert stopped.status_code == 200
    assert closure_items(stopped.get_data(as_text=True), 'id="closure-news-confirm"')[0] == \
        ("News on Closure (Customer: Alice Carter)", "Now closed on Mondays.")
    assert notices() == []
    assert post_form(store_client, url, stopped.get_data(as_text=True)).status_code == 302
    assert "Now closed on Mondays." in notices()[0].body


def test_the_token_the_pop_up_put_in_the_form_closes_at_once(store_client):
    ticket = log_ticket(alice_of_acme(), "Printer jams")
    url = edit_url(ticket)
    html = page(store_client, url)
    closed = post_form(store_client, url, html, status="closed",
                       closure_news_seen=dialog_attribute(html, "data-token"))
    assert closed.status_code == 302
    ticket.reload()
    assert ticket.status == "closed" and len(notices()) == 1


def test_logging_a_ticket_as_closed_shows_the_news_first_too(store_client):
    alice = alice_of_acme()
    url = f"/admin/ticket/new/?customer={alice.pk}"
    stopped = post_form(store_client, url, page(store_client, url), summary="Printer jams",
                        status="closed")
    assert stopped.status_code == 200
    assert closure_items(stopped.get_data(as_text=True), 'id="closure-news-confirm"') == BOTH
    assert Ticket.objects.count() == 0 and notices() == []
    assert post_form(store_client, url, stopped.get_data(as_text=True)).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.status == "closed" and len(notices()) == 1


def test_closed_reopened_and_closed_again_shows_the_news_again(store_client):
    ticket = log_ticket(alice_of_acme(), "Printer jams")
    url = edit_url(ticket)
    first = post_form(store_client, url, page(store_client, url), status="closed")
    assert post_form(store_client, url, first.get_data(as_text=True)).status_code == 302
    # Saving a closed ticket closed again, or reopening it, closes nothing: nothing is shown.
    closed_page = page(store_client, url)
    assert closure_items(closed_page) == []
    assert post_form(store_client, url, closed_page).status_code == 302
    assert post_form(store_client, url, closed_page, status="open").status_code == 302
    ticket.reload()
    assert ticket.status == "open" and len(notices()) == 1
    # Closing it again is stopped again (the reopened page holds no token yet).
    reopened = page(store_client, url)
    assert closure_items(reopened) == BOTH
    again = post_form(store_client, url, reopened, status="closed")
    assert again.status_code == 200
    assert closure_items(again.get_data(as_text=True), 'id="closure-news-confirm"') == BOTH
    assert len(notices()) == 1
    assert post_form(store_client, url, again.get_data(as_text=True)).status_code == 302
    assert len(notices()) == 2

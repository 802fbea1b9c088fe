"""The ticket list's arguments Home links to, on both stores: `status=open|closed` and
`due=soon|overdue` (open tickets by their SLA's resolution due time, most pressing first,
with that time shown), combined with one customer's tickets and the search box; a value
the list does not know is a sentence, never a traceback.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from admin_app.models import SLA, Customer, Ticket
from admin_app.models.kept import now
from admin_app.tickets import close, log_ticket


def summaries(html: str) -> list[str]:
    return re.findall(r'<td class="col-summary">\s*(.*?)\s*</td>', html, re.S)


@pytest.fixture
def queue(store_app):
    """Two customers, each with tickets due soon, overdue, later, without SLA, closed."""
    with store_app.app_context():
        four = SLA(name="Four hours", resolution_hours=4).save()
        found = {}
        for who in ("Ada", "Bo"):
            record = Customer(name=who, level="Customer", sla=four.pk).save()
            plain = Customer(name=f"{who} Plain", level="Customer").save()
            soon = log_ticket(record, f"{who} printer jams soon")
            overdue = log_ticket(record, f"{who} printer broken overdue")
            later = log_ticket(record, f"{who} laptop later")
            log_ticket(plain, f"{who} no due time")
            close(log_ticket(record, f"{who} closed printer"))
            at = now()
            # Due times as the SLA would have given tickets logged earlier.
            Ticket.objects(pk=overdue.pk).update_one(set__resolution_due=at - timedelta(hours=2))
            Ticket.objects(pk=later.pk).update_one(set__resolution_due=at + timedelta(days=3))
            Ticket.objects(pk=soon.pk).update_one(set__resolution_due=at + timedelta(hours=3))
            found[who] = record.pk
    return found


def test_status_lists_only_that_status(queue, store_client):
    opened = summaries(store_client.get("/admin/ticket/?status=open").get_data(as_text=True))
    assert sorted(opened) == sorted(f"{who} {what}" for who in ("Ada", "Bo") for what in (
        "printer jams soon", "printer broken overdue", "laptop later", "no due time"))
    closed = store_client.get("/admin/ticket/?status=closed").get_data(as_text=True)
    assert sorted(summaries(closed)) == ["Ada closed printer", "Bo closed printer"]
    assert 'id="ticket-list-heading">Closed tickets</h1>' in closed
    assert 'id="all-tickets"' in closed


def test_due_lists_are_in_due_order_with_the_due_time_and_no_other_sort(queue, store_client):
    html = store_client.get("/admin/ticket/?due=soon&sort=0").get_data(as_text=True)
    assert summaries(html) == ["Ada printer jams soon", "Bo printer jams soon"]
    assert 'id="ticket-list-heading">Open tickets due in the next 24 hours</h1>' in html
    assert "Resolution due" in html and re.search(r'<td class="col-resolution_due">\s*\d{4}-'
                                                  r'\d\d-\d\d \d\d:\d\d UTC', html)
    assert "Sort by" not in html  # one order: the most pressing first
    overdue = store_client.get("/admin/ticket/?due=overdue").get_data(as_text=True)
    assert summaries(overdue) == ["Ada printer broken overdue", "Bo printer broken overdue"]
    assert "Open tickets overdue against their SLA" in overdue
    # Without due=, the list sorts by its columns as before.
    assert "Sort by" in store_client.get("/admin/ticket/?status=open").get_data(as_text=True)


def test_due_combines_with_one_customer_and_with_search(queue, store_client):
    ada = queue["Ada"]
    html = store_client.get(f"/admin/ticket/?customer={ada}&due=overdue").get_data(as_text=True)
    assert summaries(html) == ["Ada printer broken overdue"]
    assert re.search(r'id="ticket-list-heading">Open tickets overdue against their SLA: '
                     r'<a href="/admin/customer/edit/\?id=' + str(ada), html)
    searched = store_client.get("/admin/ticket/?due=soon&search=jams").get_data(as_text=True)
    assert summaries(searched) == ["Ada printer jams soon", "Bo printer jams soon"]
    assert summaries(store_client.get("/admin/ticket/?due=soon&search=laptop")
                     .get_data(as_text=True)) == []
    both = store_client.get(f"/admin/ticket/?customer={ada}&status=open&search=printer")
    assert sorted(summaries(both.get_data(as_text=True))) == [
        "Ada printer broken overdue", "Ada printer jams soon"]


def test_paging_and_searching_keep_the_due_argument(queue, store_client):
    html = store_client.get("/admin/ticket/?due=overdue").get_data(as_text=True)
    assert re.search(r'<input type="hidden" name="due" value="overdue">', html), \
        "the search box would drop due="


@pytest.mark.parametrize(("query", "sentence"), [
    ("status=pending", "use status=open or status=closed"),
    ("due=tomorrow", "use due=soon or due=overdue"),
    ("due=soon&status=closed", "Only open tickets are due or overdue"),
])
def test_an_argument_the_list_does_not_know_is_a_sentence(store_client, query, sentence):
    response = store_client.get(f"/admin/ticket/?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert sentence in html and "Traceback" not in html

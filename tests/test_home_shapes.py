"""Every read Home and the ticket lists it links to send is served by a declared index
(the query-shape checker of tests/query_shapes.py), and the chart costs one aggregation
per page, not one query per day.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from admin_app.customising.fields import update_field
from admin_app.models import Customer, Ticket
from admin_app.models.kept import now
from admin_app.tickets import close, log_ticket

from .query_shapes import recording, unserved


@pytest.fixture
def recorded(app, client, tmp_path, monkeypatch):
    """Home and the ticket lists on the demo with tickets of every kind, recorded; with
    how many aggregations each Home page sent."""
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps(json.loads(Path("seed/demo.json").read_text("utf-8"))),
                    encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["seed", "load", str(demo)]).exit_code == 0
    with app.app_context():
        update_field("customer", "expiry_date", filterable=True)  # Home counts passed ones
        chen = Customer.objects.get(name="Chen Wei")
        for n in range(5):
            ticket = log_ticket(chen, f"Printer {n}")
            Ticket.objects(pk=ticket.pk).update_one(
                set__logged_at=now() - timedelta(days=n * 3),
                set__resolution_due=now() + timedelta(hours=n * 10 - 15))
        close(log_ticket(chen, "Closed one"))
    aggregations: list[str] = []
    with recording() as recorder:
        import mongomock
        from litemongo._vendor import mongomock as vendored

        for module in (mongomock, vendored):
            aggregate = module.collection.Collection.aggregate

            def counted(self, *args, _aggregate=aggregate, **kwargs):
                aggregations.append(self.name)
                return _aggregate(self, *args, **kwargs)

            monkeypatch.setattr(module.collection.Collection, "aggregate", counted)
        with recorder.running("home page"):
            for _ in range(2):
                assert client.get("/admin/").status_code == 200
        with recorder.running("ticket lists Home links to"):
            for listed in ("", f"customer={chen.pk}&"):
                for narrowed in ("status=open", "status=closed", "due=soon", "due=overdue"):
                    for searched in ("", "&search=printer"):
                        for sort in ("", "&sort=0", "&sort=3&desc=1"):
                            url = f"/admin/ticket/?{listed}{narrowed}{searched}{sort}"
                            assert client.get(url).status_code == 200, url
    recorder.aggregations = aggregations
    return recorder


def test_every_read_of_home_and_its_ticket_lists_is_served_by_a_declared_index(recorded):
    assert {"home page", "ticket lists Home links to"} <= recorded.flows
    problems = unserved(recorded)
    assert not problems, "no declared index serves:\n" + "\n".join(problems)


def test_home_counts_passed_expiry_dates_as_the_list_asks_for_them(recorded):
    sent = {str(shape) for shape, flows in recorded.sent_by.items()
            if "home page" in flows and shape.collection == "customers"}
    assert "customers {archived:equality, level:equality, search_keys:equality}" in sent, sent


def test_the_chart_is_one_aggregation_per_page(recorded):
    assert recorded.aggregations == ["tickets", "tickets"]  # two Home pages, one each


def test_the_due_lists_ask_by_status_and_due_time_in_due_order(recorded):
    sent = {str(shape) for shape, flows in recorded.sent_by.items()
            if "ticket lists Home links to" in flows and shape.collection == "tickets"}
    for narrowed in ((), ("customer",), ("search_keys",), ("customer", "search_keys")):
        plain = ", ".join(f"{name}:equality" for name in sorted((*narrowed, "status")))
        due = ", ".join(sorted((*(f"{name}:equality" for name in (*narrowed, "status")),
                                "resolution_due:range")))
        assert f"tickets {{{due}}} sort resolution_due,_id" in sent, (due, sent)
        assert f"tickets {{{plain}}} sort -logged_at" in sent, (plain, sent)

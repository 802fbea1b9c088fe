"""Home: the desk at a glance, each figure a link to the list of exactly what it counts.

Current Customers, Orgs and Contacts, and those past their Expiry Date (linked through
the record lists' filter arguments, `f.expiry_date.max=<yesterday>`); open tickets and
those due soon or overdue against their SLA (the ticket list's `status=` and `due=`,
asked through `tickets/queues.py`, one definition for both); the last import and, for
admins, the last directory run with their results; and a chart of tickets opened and
closed per day over the last 30 days.

Every figure is one count on an index, stopped past the lists' bound ("more than
10,000"): the records' as their list counts them (`records/listing.py`: the Level and
Archive flag, and the Expiry Date's filter keys, through the list index), the tickets'
on (status, -logged_at) and (status, resolution_due, _id); the chart is one aggregation
(`tickets/daily.py`). The chart's figures reach
the browser as JSON in a `<script type="application/json">` block, which no browser
runs; `static/home.js` draws them with the vendored Chart.js, under the CSP as it is.
The same figures are a table on the page, for screen readers and keyboards.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import url_for
from flask_admin import AdminIndexView, expose

from .. import dictionary, store
from ..directory.runs import SyncRun
from ..importer.jobs import SeedJob
from ..models import Contact, Customer, Ticket
from ..models.kept import now
from ..records import listing as records_listing
from ..tickets import daily, queues
from .secure import StaffOnly, signed_in_role

EXPIRY = "expiry_date"  # the default dictionary's field the seed's alert is about
# A directory run's status, as Home words it (the Runs screen has the details).
RUN_WORDS = {"running": "running", "preview": "a preview",
             "complete": "complete", "failed": "failed", "held": "held for an admin's approval"}
# Home's record cards: the list each heads, as (entity, Level).
LISTS = {"customer": ("customer", "Customer"), "org": ("customer", "Org"),
         "contact": ("contact", None)}
RECORDS = {"customer": Customer, "contact": Contact}
JOB_WORDS = {"queued": "waiting to start", "running": "running", "done": "done",
             "failed": "stopped"}


@dataclass(frozen=True)
class Figure:
    """One count on Home and the list of what it counts."""

    key: str  # the element id's ending: count-<key>
    words: str  # what is counted, in the dictionary's words
    count: int | None  # None: the store could not count it without reading the records
    url: str

    @property
    def shown(self) -> str:
        """The count as Home shows it: "7,342", "more than 10,000", or "many" (more than
        the store counts cheaply: the list it links to offers to count them all)."""
        if self.count is None:
            return "many"
        if self.count > records_listing.COUNT_BOUND:
            return f"more than {records_listing.COUNT_BOUND:,}"
        return f"{self.count:,}"


@dataclass(frozen=True)
class RecordCard:
    endpoint: str  # customer, org, contact: the list the card heads
    title: str
    current: Figure
    expired: Figure | None = None  # past the Expiry Date, as the list's filter finds them
    # Said instead when the list cannot filter on the Expiry Date (not filterable there).
    expired_note: str | None = None


def counted_list(snapshot: dictionary.Snapshot, endpoint: str, args: list[tuple[str, str]]
                 ) -> tuple[records_listing.ListState, int | None, str]:
    """The list at `endpoint` as these URL arguments narrow it: its state, how many
    records it holds (counted as the list counts them: the same query, up to the same
    bound, from the index) and its address."""
    entity, level = LISTS[endpoint]
    state = records_listing.ListState.from_args(args, snapshot, entity, level)
    count = records_listing.counted(state, RECORDS[entity]._get_collection())
    query = urlencode(state.to_args())
    return state, count, url_for(f"{endpoint}.index_view") + (f"?{query}" if query else "")


def record_cards(snapshot: dictionary.Snapshot, today: date) -> list[RecordCard]:
    """Customers, Orgs and Contacts: how many are current, and how many Customers and Orgs
    have an Expiry Date that has passed (the day itself still counts as covered, as when
    a ticket is logged: `tickets/facts.py`), found by the list's own filter
    (`f.expiry_date.max=<yesterday>`), so the count is what the link lists."""
    expiry = snapshot.fields.get("customer", {}).get(EXPIRY)
    live_expiry = expiry is not None and not expiry.retired and expiry.type == "date"
    yesterday = (today - timedelta(days=1)).isoformat()
    cards = []
    for endpoint, (entity, level) in LISTS.items():
        words = snapshot.entity(entity).level(level).plural if level \
            else snapshot.entity(entity).plural
        _state, count, url = counted_list(snapshot, endpoint, [])
        card = RecordCard(endpoint, words, Figure(endpoint, words, count, url))
        if live_expiry and entity == "customer":
            state, count, url = counted_list(snapshot, endpoint,
                                             [(f"f.{EXPIRY}.max", yesterday)])
            if state.filter_on(EXPIRY) is not None:
                card = replace(card, expired=Figure(f"{endpoint}-expired",
                                                    f"past their {expiry.label}", count, url))
            else:
                card = replace(card, expired_note=(
                    f"{expiry.label} is not a filter of this list: an admin can make it "
                    f"filterable on the Dictionary screen to see here how many have passed."))
        cards.append(card)
    return cards


def ticket_figures(at: datetime) -> list[Figure]:
    """Open tickets, and those due soon or overdue against their SLA at `at`."""
    collection = Ticket._get_collection()
    bound = records_listing.COUNT_BOUND + 1

    def counted(query: dict[str, t.Any]) -> int:
        # From the embedded store's index where it can tell (an equality), else by the
        # store's own count, which MongoDB answers from the index, stopping at the bound.
        told = store.bounded_count(collection, query, bound)
        return told if told is not None else int(collection.count_documents(query,
                                                                             limit=bound))

    return [
        Figure("tickets-open", "open", counted(queues.open_query()),
               url_for("ticket.index_view", status="open")),
        Figure("tickets-due", f"due in the next {queues.DUE_SOON_HOURS} hours",
               counted(queues.SOON.query(at)), url_for("ticket.index_view", due="soon")),
        Figure("tickets-overdue", "overdue", counted(queues.OVERDUE.query(at)),
               url_for("ticket.index_view", due="overdue")),
    ]


def chart_figures(today: date) -> dict[str, t.Any]:
    """The chart's data, as home.js reads it and the table shows it."""
    days = daily.per_day(today)
    return {"days": [d.day.isoformat() for d in days],
            "opened": [d.opened for d in days], "closed": [d.closed for d in days],
            "labels": {"opened": "Opened", "closed": "Closed"}}


def last_import() -> SeedJob | None:
    """The newest upload's check or load (the `-created_at` index), without its failures."""
    job = SeedJob.objects.order_by("-created_at").exclude("failure_lines").first()
    if job is not None:
        job.check_alive()
    return job


def last_run() -> SyncRun | None:
    """The newest directory run (the `-started` index), without its plan of actions."""
    return SyncRun.objects.order_by("-started").exclude("actions", "errors").first()


class HomeView(StaffOnly, AdminIndexView):
    @expose("/")
    def index(self) -> t.Any:
        snapshot = dictionary.current_or_default()
        at = now()
        chart = chart_figures(at.date())
        return self.render(
            "dictadmin/home.html", cards=record_cards(snapshot, at.date()),
            tickets=ticket_figures(at), chart=chart,
            chart_totals={"opened": sum(chart["opened"]), "closed": sum(chart["closed"])},
            chart_rows=list(zip(chart["days"], chart["opened"], chart["closed"], strict=True)),
            job=last_import(), job_words=JOB_WORDS,
            # Directory → Runs is an admin's screen: an agent's Home leaves it out.
            run=last_run() if signed_in_role() == "admin" else None,
            run_words=RUN_WORDS, show_runs=signed_in_role() == "admin")

"""The Tickets screens: the list (newest first; one customer's with `?customer=<id>`)
and the form that logs a ticket with what the chosen customer brings along.

The list narrows further with `?status=open|closed`, and with `?due=soon|overdue`: the
open tickets whose resolution due time comes within a day, or has passed
(`tickets/queues.py`, which Home's counts ask too), listed most pressing first with their
due time. Each combines with `customer=` and the search box, and each shape is served by
an index (models/tickets.py).

Only signed-in people (agents and admins) get here (`SecureModelView`), and nothing is
hard-deleted. The form is built per request: its brought-forward fields follow the
dictionary on a new ticket, and keep the labels they were copied under on a logged one.
When the agent picks another customer, the browser asks `customer-facts` for that
customer's values, News, passed expiry dates and SLA (`static/dictadmin.js`).

Choosing Closed shows the customer's and its Org's News on Closure in a pop-up before the
save that closes the ticket sends the closure notice: the page carries the news of the
customer it was drawn for, `closure-news` gives another one's. A closing save that does
not bring back the token of the news as it stands is stopped, and the page shows the news
instead (`tickets/form.py`'s `ClosureNewsShown`: the way without JavaScript).
"""

from __future__ import annotations

import typing as t

from bson import ObjectId
from bson.errors import InvalidId
from flask import abort, flash, jsonify, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_form_data
from markupsafe import Markup
from mongoengine import QuerySet

from .. import dictionary
from ..dictionary import Field
from ..dictionary.values import to_form
from ..forms.lookups import LOOKUPS
from ..models import SLA, Contact, Customer, Ticket, search
from ..models.kept import now
from ..models.tickets import SEARCHED
from ..tickets import brought_forward, facts_for, intake, queues
from ..tickets.closing import CLOSED_MEANWHILE
from ..tickets.closure_news import closure_news
from ..tickets.facts import contacts_of, org_of
from ..tickets.form import PREFIX, STATUS_WORDS, TicketForm, kept_fields, ticket_form_class
from ..tickets.shown import due_words, expiry_warning, facts_json, sla_words, when
from . import references
from .following import FollowsDictionary
from .secure import SecureModelView

CUSTOMER_ARG = "customer"  # ?customer=<record id>: the form's customer; the list's filter
STATUS_ARG = "status"  # ?status=open|closed: the list's tickets of that status
DUE_ARG = "due"  # ?due=soon|overdue: the list's open tickets by resolution due time
DUE_COLUMN = ("resolution_due", "Resolution due")  # shown on a due list


# The ticket list's customer column names records through `references`, as record lists do.
CUSTOMER = Field("ticket", "customer", "Customer", "reference", target="record")


class TicketView(FollowsDictionary, references.NamesReferences, SecureModelView):
    reference_columns = [CUSTOMER]  # the customers' names: one query a page
    list_template = "dictadmin/ticket_list.html"
    create_template = "dictadmin/ticket_create.html"
    edit_template = "dictadmin/ticket_edit.html"
    form_ajax_refs = LOOKUPS
    can_view_details = False
    column_list = ["logged_at", "customer", "summary", "status"]
    column_labels = {"logged_at": "Logged", "customer": "Customer", "summary": "Summary",
                     "status": "Status", "description": "Description"}
    # Sorted by when it was logged or by status, each served by an index (models/tickets.py);
    # not by summary, free text no agent looks a ticket up by the order of (search it).
    column_sortable_list = ["logged_at", "status"]
    column_default_sort = ("logged_at", True)
    # What the search box matches: the words of the summary and description, through
    # the ticket's search keys (models/tickets.py), never a pattern over every ticket.
    column_searchable_list = list(SEARCHED)
    # No count of every ticket on every page, and no deep skip (see views/references.py).
    simple_list_pager = True
    max_page = references.MAX_PAGE

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.column_formatters = {"logged_at": _format_logged, "customer": _format_customer,
                                  "status": _format_status, "resolution_due": _format_due}
        super().__init__(*args, **kwargs)

    def follows(self, snapshot: dictionary.Snapshot) -> bool:
        return "customer" in snapshot.entities

    def follow_dictionary(self, snapshot: dictionary.Snapshot) -> None:
        """The customer column is headed with the dictionary's word (Customer, User…); run
        on a fresh copy of the view (see `following.py`)."""
        self.column_labels = {**self.column_labels,
                              "customer": snapshot.entity("customer").singular}

    def scaffold_form(self) -> type[TicketForm]:
        # Forms are built per request (create_form / edit_form), never from this class.
        return TicketForm

    # -- list ------------------------------------------------------------------------------

    def get_query(self) -> QuerySet:
        customer = self.listed_customer_id()
        query = self.model.objects(customer=customer) if customer else self.model.objects
        due, status = self.listed_due(), self.listed_status()
        if due is not None:
            return query.filter(__raw__=due.query(now()))
        return query.filter(status=status) if status else query

    def get_list(self, page: int | None, sort_column: str, sort_desc: bool, search: str | None,
                 filters: t.Any, execute: bool = True, page_size: int | None = None) -> t.Any:
        """By status, the tickets of one status keep an order too: the (status,
        -logged_at) indexes walked forwards (Closed first, newest first) or backwards
        (Open first, the longest waiting first: the queue to work through)."""
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=False, page_size=page_size)
        if self.listed_due() is not None:  # the most pressing first, whatever was asked
            rows = rows.order_by(*queues.DUE_ORDER)
        elif sort_column == "status":
            rows = rows.order_by(*(("-status", "logged_at") if sort_desc
                                   else ("status", "-logged_at")))
        if not execute:
            return count, rows
        rows = list(rows)
        references.prime(self.reference_columns, rows)
        return count, rows

    def listed_customer_id(self) -> ObjectId | None:
        """The record whose tickets the list is restricted to (`?customer=`), if any."""
        value = request.args.get(CUSTOMER_ARG)
        if not value:
            return None
        try:
            return ObjectId(value)
        except (InvalidId, TypeError):
            abort(404, description="The address names no customer record.")

    def listed_status(self) -> str | None:
        """The status the list is restricted to (`?status=`), if any."""
        value = request.args.get(STATUS_ARG)
        if value and value not in queues.STATUS_HEADINGS:
            abort(400, description="The address asks for tickets of a status there is "
                                   "not: use status=open or status=closed.")
        return value or None

    def listed_due(self) -> queues.Due | None:
        """The due question the list answers (`?due=`), if any."""
        value = request.args.get(DUE_ARG)
        if value and value not in queues.DUE:
            abort(400, description="The address asks for tickets due in a way there is "
                                   "not: use due=soon or due=overdue.")
        if value and request.args.get(STATUS_ARG, "open") != "open":
            abort(400, description="Only open tickets are due or overdue: leave out "
                                   "status=closed, or due=.")
        return queues.DUE[value] if value else None

    def list_heading(self) -> str | None:
        """What a list narrowed by status or due time is called (None: all tickets)."""
        due, status = self.listed_due(), self.listed_status()
        if due is not None:
            return due.heading
        return queues.STATUS_HEADINGS[status] if status else None

    def is_sortable(self, name: str) -> bool:
        # A due list keeps its one order (the (…, status, resolution_due, _id) indexes').
        return self.listed_due() is None and super().is_sortable(name)

    def render(self, template: str, **kwargs: t.Any) -> t.Any:
        if template == self.list_template and self.listed_due() is not None:
            kwargs["list_columns"] = [*kwargs.get("list_columns", ()), DUE_COLUMN]
        return super().render(template, **kwargs)

    def listed_customer(self) -> Customer | None:
        customer = self.listed_customer_id()
        return Customer.objects(pk=customer).first() if customer else None

    def record_url(self, record: Customer) -> str:
        return url_for("org.edit_view" if record.level == "Org" else "customer.edit_view",
                       id=record.pk)

    def init_search(self) -> bool:
        self._search_fields = list(self.column_searchable_list)
        return True

    def _search(self, query: QuerySet, search_term: str) -> QuerySet:
        # Every word typed must start a word of the summary or description: equalities on
        # the ticket's search keys, which an index serves newest first. What is typed is
        # only ever a value, never a pattern; text with no word finds nothing.
        wanted = search.criteria(search_term)
        return query.filter(__raw__=wanted) if wanted else query.filter(pk__in=[])

    def search_placeholder(self) -> str | None:
        return "Search " + ", ".join(self.column_labels[n] for n in self._search_fields)

    # -- forms -------------------------------------------------------------------------------

    def create_form(self, obj: t.Any = None) -> TicketForm:
        snapshot = dictionary.current()
        cls = ticket_form_class(snapshot, brought_forward(snapshot))
        data: dict[str, t.Any] = {}
        if request.method == "GET" and request.args.get(CUSTOMER_ARG):
            record = LOOKUPS["record"].get_one(request.args[CUSTOMER_ARG])
            if record is None:
                flash("That customer record does not exist (any more); choose another.",
                      "error")
            else:
                data = {"customer": record, **{PREFIX + f.name: to_form(f, getattr(
                    record, f.name, None)) for f in cls.copied_fields}}
        form = cls(get_form_data(), data=data)
        record = form.customer.data
        form.facts = facts_for(record, now(), snapshot) if record is not None else None
        form.closure_news = closure_news(record.pk) if record is not None else None
        form.offer_contacts(form.facts.contacts if form.facts else ())
        # The News pop-up opens when the form opens with a customer, not after a failed save.
        form.news_on_load = request.method == "GET" and bool(form.facts and form.facts.news)
        return form

    def edit_form(self, obj: t.Any = None) -> TicketForm:
        fields = kept_fields(dictionary.current(), obj.brought_forward_labels or {})
        cls = ticket_form_class(dictionary.current(), fields)
        data = {PREFIX + f.name: to_form(f, (obj.brought_forward or {}).get(f.name))
                for f in fields}
        data.update(summary=obj.summary, description=obj.description, status=obj.status,
                    contact=str(obj.contact) if obj.contact else "")
        form = cls(get_form_data(), data=data)
        del form["customer"]  # a logged ticket stays with the customer it was logged for
        form.stored_status = obj.status
        form.facts, form.news_on_load = None, False
        # Only an open ticket can be closed by this save; a closed one is reopened first.
        form.closure_news = closure_news(obj.customer) if obj.status == "open" else None
        record = Customer.objects(pk=obj.customer).first()
        current = Contact.objects(pk=obj.contact).first() if obj.contact else None
        form.offer_contacts(contacts_of(record, org_of(record)) if record else (), current)
        return form

    def on_model_change(self, form: TicketForm, model: Ticket, is_created: bool) -> None:
        # What a save does is the tickets package's (`intake.prepare` / `intake.finish`),
        # which the API's tickets call too; Flask-Admin saves between these two hooks.
        form.closing = intake.prepare(
            model, form.copied_values(), form.copied_fields,
            record=form.customer.data if is_created else None,
            was=None if is_created else form.stored_status)

    def after_model_change(self, form: TicketForm, model: Ticket, is_created: bool) -> None:
        if not intake.finish(model, getattr(form, "closing", False)):
            flash(CLOSED_MEANWHILE, "info")

    # -- what the form shows -------------------------------------------------------------

    def customer_of(self, ticket: Ticket) -> Customer | None:
        return Customer.objects(pk=ticket.customer).first()

    def sla_name(self, ticket: Ticket) -> str:
        sla = SLA.objects(pk=ticket.sla).first() if ticket.sla else None
        return sla.name if sla else "No SLA"

    def facts_shown(self, form: TicketForm) -> dict[str, t.Any] | None:
        """A new ticket's facts as the page shows them, worded as the browser words them."""
        if form.facts is None:
            return None
        response_due, resolution_due = due_words(form.facts, now())
        return {"news": form.facts.news, "sla": sla_words(form.facts),
                "expired": [expiry_warning(e) for e in form.facts.expired],
                "response_due": response_due, "resolution_due": resolution_due}

    @expose("/customer-facts/")
    def customer_facts(self) -> t.Any:
        """What choosing this customer brings to the form (JSON, inserted as text)."""
        record = LOOKUPS["record"].get_one(request.args.get("id"))
        if record is None:
            return jsonify(error="That customer record does not exist (any more)."), 404
        at = now()
        return jsonify(facts_json(facts_for(record, at), at))

    @expose("/closure-news/")
    def closure_news_json(self) -> t.Any:
        """The News on Closure that closing a ticket of this customer would send (JSON,
        inserted as text), with the token the closing save brings back."""
        record = LOOKUPS["record"].get_one(request.args.get("customer"))
        if record is None:
            return jsonify(error="That customer record does not exist (any more)."), 404
        return jsonify(closure_news(record.pk).document())


def _format_logged(view: t.Any, context: t.Any, model: Ticket, name: str) -> str:
    return when(model.logged_at)


def _format_customer(view: t.Any, context: t.Any, model: Ticket, name: str) -> Markup:
    """The customer's name, linking to that customer's tickets."""
    return Markup('<a href="{}">{}</a>').format(
        url_for(".index_view", **{CUSTOMER_ARG: str(model.customer)}),
        references.label(CUSTOMER, model.customer))


def _format_status(view: t.Any, context: t.Any, model: Ticket, name: str) -> str:
    return STATUS_WORDS.get(model.status, model.status or "")


def _format_due(view: t.Any, context: t.Any, model: Ticket, name: str) -> str:
    return when(model.resolution_due)

"""The signed-in portal pages: My details (and their form), My tickets, Log a ticket.

Each page works on `guest.customer`, the signed-in login's own record; the only id a URL
carries is a ticket's, and a ticket is looked up together with that customer, so another
customer's ticket answers 404 as if it did not exist.
"""

from __future__ import annotations

import typing as t

from bson import ObjectId
from bson.errors import InvalidId
from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms import validators as v

from .. import dictionary, records
from ..forms.opened import Opened, show_problems
from ..models import Ticket
from ..tickets import log_ticket
from ..tickets.form import STATUS_WORDS, Required
from ..tickets.shown import when
from . import details
from .access import Guest, guest_only
from .blueprint import bp

TICKETS_SHOWN = 200  # the newest; a customer with more asks the desk


class NewTicketForm(FlaskForm):
    summary = StringField("Summary", validators=[
        Required("Summary is mandatory."),
        v.Length(max=200, message="Summary must be at most 200 characters.")])
    description = TextAreaField("Description", validators=[
        v.Length(max=20000, message="Description must be at most 20000 characters.")])


def _level(guest: Guest) -> str:
    snapshot = dictionary.current_or_default()
    return snapshot.entity(details.ENTITY).level(guest.customer.level).name


@bp.route("/details/", endpoint="details")
@guest_only
def details_page(guest: Guest) -> t.Any:
    snapshot = dictionary.current_or_default()
    level = _level(guest)
    hidden = details.hidden_fields(snapshot, guest.customer, level)
    shown = [(field, details.shown_value(field, getattr(guest.customer, field.name, None)))
             for field in details.visible_fields(snapshot, level) if field.name not in hidden]
    return render_template("portal/details.html", guest=guest, shown=shown,
                           can_edit=bool(details.editable_fields(snapshot, level)))


@bp.route("/details/edit", methods=["GET", "POST"])
@guest_only
def edit_details(guest: Guest) -> t.Any:
    snapshot = dictionary.current_or_default()
    level = _level(guest)
    cls = details.details_form_class(snapshot, level)
    if not details.shown_fields(cls):
        flash("There is nothing here you can change yourself; ask the service desk.", "info")
        return redirect(url_for("portal.details"))
    data = details.form_data(guest.customer, details.shown_fields(cls))
    # Form fields only, never a JSON body: every value is read as text by the rulebook.
    form = cls(formdata=request.form if request.method == "POST" else None, data=data)
    status, at = 200, details.opened(guest.customer, form)
    ruled = details.ruled(snapshot, guest.customer, level)
    if request.method == "POST":
        posted_at = Opened.read()
        if posted_at is None:
            abort(400, description="The form does not say which version of your details it "
                                   "was opened at: reload the page and make the change again.")
        at = posted_at
        valid = form.validate_on_submit()
        # What the record as a whole must hold: the write path's words, beside each field.
        problems = details.refused(form, at, ruled)
        show_problems(form, problems, ask="Ask the service desk.")
        if valid and not problems:
            try:
                details.save(guest.customer, form, at, snapshot)
            except records.Overlap as overlap:
                flash(details.overlap_message(form, overlap.fields), "error")
                guest.customer.reload()
                at, status = details.reopen(form, at, guest.customer), 409
                ruled = details.ruled(snapshot, guest.customer, level)
            except records.Missing:
                return redirect(url_for("portal.details"))  # archived: that signs them out
            except records.Refused as refused:
                show_problems(form, refused.problems, ask="Ask the service desk.")
            else:
                flash("Your details are saved.", "success")
                return redirect(url_for("portal.details"))
        # A value the rulebook refuses: the form again with its message (200, as the
        # admin's record forms answer), still at the state it was opened at.
    layout = details.layout(form, at, ruled, posted=request.method == "POST")
    return render_template("portal/edit_details.html", guest=guest, form=form,
                           fields=details.shown_fields(form), opened=at,
                           layout=layout), status


def _own_tickets(guest: Guest) -> t.Any:
    return Ticket.objects(customer=guest.customer.pk)


@bp.route("/tickets/")
@guest_only
def tickets(guest: Guest) -> t.Any:
    listed = _own_tickets(guest).order_by("-logged_at").limit(TICKETS_SHOWN)
    return render_template("portal/tickets.html", guest=guest, tickets=list(listed),
                           when=when, status_words=STATUS_WORDS)


@bp.route("/tickets/<ticket_id>")
@guest_only
def ticket(guest: Guest, ticket_id: str) -> t.Any:
    try:
        wanted = ObjectId(ticket_id)
    except (InvalidId, TypeError):
        abort(404)
    found = _own_tickets(guest).filter(pk=wanted).first()
    if found is None:
        abort(404)  # whether it is someone else's or nobody's is not said
    return render_template("portal/ticket.html", guest=guest, ticket=found, when=when,
                           status_words=STATUS_WORDS)


@bp.route("/tickets/new", methods=["GET", "POST"])
@guest_only
def new_ticket(guest: Guest) -> t.Any:
    form = NewTicketForm(formdata=request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        # The admin's way of logging one: what the record brings forward, its SLA and the
        # e-mail the closure notice goes to are stamped the same way.
        logged = log_ticket(guest.customer, form.summary.data.strip(),
                            description=(form.description.data or "").strip())
        flash("Your ticket is logged. The service desk will be in touch.", "success")
        return redirect(url_for("portal.ticket", ticket_id=str(logged.pk)))
    return render_template("portal/new_ticket.html", guest=guest, form=form)

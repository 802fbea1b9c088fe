"""The ticket form: the ticket's own fields, fixed in code, and one field per
brought-forward field, which follow the dictionary.

Brought-forward values stay editable on the ticket, so each is read and checked by the
rulebook (`dictionary/rules.py`) exactly as on the record forms, with the widget the
record forms use for its type. They are checked at a Level no record has (`TICKET`):
nothing brought forward is mandatory on a ticket, because a customer without a
Department must still be able to log one.
"""

from __future__ import annotations

import dataclasses
import typing as t

from bson import ObjectId
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import fields as wtf
from wtforms import validators as v

from ..dictionary import Field, Snapshot
from ..dictionary.rules import Rule
from ..forms.lookups import LOOKUPS
from ..forms.records import ReferenceField, RuleCheck, widget_field
from ..models.tickets import STATUSES
from .closure_news import ClosureNews

TICKET = "ticket"  # the "Level" brought-forward values are checked at: none is mandatory
PREFIX = "bf_"  # form names of brought-forward fields, apart from the ticket's own
STATUS_WORDS = {"open": "Open", "closed": "Closed"}


class Required(v.DataRequired):
    """A mandatory ticket field (a DataRequired, so Flask-Admin stars its label)."""

    def __call__(self, form: t.Any, field: t.Any) -> None:
        data = field.data.strip() if isinstance(field.data, str) else field.data
        if data is None or data == "":
            raise v.StopValidation(self.message)


class ContactOfCustomer:
    """The contact must be one the form offered: a contact of the customer or its Org."""

    def __call__(self, form: t.Any, field: t.Any) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise v.StopValidation("The chosen Contact is not a contact of this customer "
                                   "or of its Org; choose one from the list.")


CLOSURE_NEWS_FIRST = ("Nothing was saved yet: closing this ticket sends its closure notice "
                      "with the news below. Read it, then press OK or Save again to close the "
                      "ticket and send the notice.")


class ClosureNewsShown:
    """A save that closes the ticket goes ahead only once the customer's News on Closure
    has been shown: the pop-up (or this refusal's page) puts its token in the field. Until
    then nothing is saved and no notice goes; the page shows the news, carries its token,
    and the next OK or Save closes the ticket (the path without JavaScript)."""

    def __call__(self, form: t.Any, field: t.Any) -> None:
        news = form.closure_news
        if news is None or not news.items or not form.closes() or field.data == news.token:
            return
        field.data = news.token  # shown on the page this refusal draws
        form.closure_news_pending = True
        raise v.StopValidation(CLOSURE_NEWS_FIRST)


class TicketForm(FlaskForm):
    """The ticket's own fields; `ticket_form_class` adds the brought-forward ones."""

    copied_fields: t.ClassVar[tuple[Field, ...]] = ()
    # Set by the view per request: the status stored before this save (None: a new
    # ticket), the News on Closure a close would send, and whether this save was stopped
    # to show it.
    stored_status: str | None = None
    closure_news: ClosureNews | None = None
    closure_news_pending = False

    customer: ReferenceField  # labelled with the dictionary's word (ticket_form_class)
    contact = wtf.SelectField("Contact", choices=[wtf.SelectChoice("", "(none)")],
                              validate_choice=False,
                              validators=[ContactOfCustomer()])
    summary = wtf.StringField("Summary", validators=[
        Required("Summary is mandatory."),
        v.Length(max=200, message="Summary must be at most 200 characters.")])
    description = wtf.TextAreaField("Description", validators=[
        v.Length(max=20000, message="Description must be at most 20000 characters.")])
    status = wtf.SelectField("Status", choices=[wtf.SelectChoice(s, STATUS_WORDS[s])
                                                for s in STATUSES])
    closure_news_seen = wtf.HiddenField(validators=[ClosureNewsShown()])

    def closes(self) -> bool:
        """Whether this save closes the ticket (as `intake.prepare` decides it)."""
        return self.status.data == "closed" and (self.stored_status or "open") == "open"

    def copied_values(self) -> dict[str, t.Any]:
        """The brought-forward values as typed (read by the rulebook), by field name."""
        return {f.name: self[PREFIX + f.name].data for f in self.copied_fields}

    def offer_contacts(self, contacts: t.Iterable[t.Any], current: t.Any = None) -> None:
        """The contacts to choose from; the ticket's current one stays offered even if it
        has since been archived or moved."""
        offered = [wtf.SelectChoice(str(c.pk), c.name or "(no name)") for c in contacts]
        if current is not None and str(current.pk) not in {c.value for c in offered}:
            offered.append(wtf.SelectChoice(str(current.pk), current.name or "(no name)"))
        self.contact.choices = [wtf.SelectChoice("", "(none)"), *offered]

    def populate_obj(self, obj: t.Any) -> None:
        """The ticket's own fields; customer and brought-forward values are the view's
        (they are stamped on a new ticket, kept under their old labels on an old one)."""
        obj.summary = (self.summary.data or "").strip()
        obj.description = (self.description.data or "").strip() or None
        obj.status = self.status.data
        obj.contact = ObjectId(self.contact.data) if self.contact.data else None


def _copied_field(definition: Field) -> wtf.Field:
    rule = Rule(definition, TICKET)
    kw: dict[str, t.Any] = {"label": definition.label,
                            # Flask-Admin prints descriptions with |safe: escape first.
                            "description": escape(definition.help_text),
                            "validators": [RuleCheck(rule)]}
    return widget_field(rule, kw)


def ticket_form_class(snapshot: Snapshot, copied: tuple[Field, ...]) -> type[TicketForm]:
    """The form with `copied` as its brought-forward fields, kept for the dictionary
    version (a ticket's own labels make their own class)."""
    copied = tuple(dataclasses.replace(f, default=None) for f in copied)

    word = snapshot.entity("customer").singular if "customer" in snapshot.entities \
        else "Customer"

    def build() -> type[TicketForm]:
        attrs: dict[str, t.Any] = {PREFIX + f.name: _copied_field(f) for f in copied}
        attrs["copied_fields"] = copied
        attrs["customer"] = ReferenceField(
            LOOKUPS["record"], label=word, allow_blank=True,
            validators=[Required(f"Choose the {word.lower()} this ticket is for.")],
            render_kw={"data-placeholder": "Type to search by name"})
        return type("TicketForm", (TicketForm,), attrs)

    key = ("ticket-form", word, tuple((f.name, f.label, f.type) for f in copied))
    return snapshot.memo(key, build)


def kept_fields(snapshot: Snapshot, labels: t.Mapping[str, str]) -> tuple[Field, ...]:
    """A logged ticket's brought-forward fields under the labels they had when it was
    logged; typed as the dictionary types them now (text if the field is gone)."""
    known = snapshot.fields.get("customer", {})
    return tuple(dataclasses.replace(known[name], label=label) if name in known
                 else Field("customer", name, label, "text")
                 for name, label in labels.items())

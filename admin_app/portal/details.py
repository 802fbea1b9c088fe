"""A customer's own details on the portal: the fields the dictionary lets them see, and
a form for the ones it lets them change.

Which fields is the dictionary's portal rule (`Field.shown_on_portal`,
`Field.editable_on_portal` in `dictionary/snapshot.py`, from the flags `customer_visible`
and `customer_editable`), read from the request's snapshot, so an admin's change shows on
the next page. The form is built
like the record forms: the converter table's widget for each type and the rulebook's
reading and check (`dictionary/rules.py`) at the customer's Level, so a value the
admin's form refuses is refused here with the same message. Saving writes the fields the
customer changed through the record write path, as the admin's saves do
(`forms/opened.py`): an agent's change made since the page was opened is kept, and only
a field both changed is refused. The conditional rules lay the form out and refuse a save
as on the admin's record forms (`forms/records.py` RuledRecord); a field a rule hides is
left off My details too.
"""

from __future__ import annotations

import typing as t

from flask_wtf import FlaskForm
from markupsafe import escape

from .. import records
from ..dictionary import Field, Snapshot, conditional
from ..dictionary.rules import rule
from ..dictionary.values import to_form, to_storage
from ..forms.opened import Opened, listed
from ..forms.records import RuleCheck, RuledRecord, RuleLayout, widget_field
from ..models import Customer

ENTITY = "customer"


def _in_form_order(snapshot: Snapshot, level: str, chosen: list[Field]) -> list[Field]:
    """`chosen` in the order the Level's form shows them, then the rest by name."""
    placed = [name for section in snapshot.layout(ENTITY, level) for name in section.fields]
    order = {name: index for index, name in enumerate(placed)}
    return sorted(chosen, key=lambda f: (order.get(f.name, len(order)), f.name))


def visible_fields(snapshot: Snapshot, level: str) -> list[Field]:
    return _in_form_order(snapshot, level, [f for f in snapshot.live_fields(ENTITY)
                                            if f.shown_on_portal])


def editable_fields(snapshot: Snapshot, level: str) -> list[Field]:
    return [f for f in visible_fields(snapshot, level) if f.editable_on_portal]


def shown_value(field: Field, value: t.Any) -> str:
    """A stored value as text for the page (escaped by the template)."""
    if value is None or value == "":
        return ""
    return field.kind.shown(field, value)


class DetailsForm(FlaskForm):
    """Base of the generated form: the editable fields, plus the revision it was opened at."""

    # Underscored: no dictionary field name starts with "_", so none can clash.
    _portal_fields: t.ClassVar[tuple[Field, ...]] = ()


def shown_fields(form: DetailsForm | type[DetailsForm]) -> tuple[Field, ...]:
    return form._portal_fields


def stored_values(form: DetailsForm) -> dict[str, t.Any]:
    return {f.name: to_storage(f, form[f.name].data) for f in form._portal_fields}


def details_form_class(snapshot: Snapshot, level: str) -> type[DetailsForm]:
    """The form of a customer's editable fields at `level`, kept for the dictionary
    version."""

    def build() -> type[DetailsForm]:
        fields = tuple(editable_fields(snapshot, level))
        attrs: dict[str, t.Any] = {"_portal_fields": fields}
        for field in fields:
            checked = rule(snapshot, ENTITY, field.name, level)
            kw: dict[str, t.Any] = {
                "label": field.label,
                "description": escape(field.help_text),
                "validators": [RuleCheck(checked)],
            }
            attrs[field.name] = widget_field(checked, kw)
        return type(f"Portal{level}DetailsForm", (DetailsForm,), attrs)

    return snapshot.memo(("portal-details-form", level), build)


def ruled(snapshot: Snapshot, customer: Customer, level: str) -> RuledRecord:
    """The customer's record as the conditional rules see it."""
    return RuledRecord.of(snapshot, ENTITY, level, customer)


def hidden_fields(snapshot: Snapshot, customer: Customer, level: str) -> frozenset[str]:
    """The fields a rule in force hides on the customer's record (not shown on My
    details either)."""
    record = ruled(snapshot, customer, level)
    return conditional.evaluate(snapshot, ENTITY, record.stored or {}, level).hidden


def changes(form: DetailsForm, at: Opened) -> dict[str, t.Any]:
    """What saving the form would change."""
    return at.changes(stored_values(form), shown_fields(form))[0]


def refused(form: DetailsForm, at: Opened, record: RuledRecord) -> list[records.Problem]:
    """What the record write path would refuse in saving the form (mandatory on the
    Level or by a rule, narrowed choices, read-only fields), but for a field whose
    value the form already refuses."""
    return [p for p in record.problems(changes(form, at))
            if p.field not in form or not form[p.field].errors]


def layout(form: DetailsForm, at: Opened, record: RuledRecord, posted: bool) -> RuleLayout:
    """The form laid out for the record's state: as stored when the page is opened, as
    the post would make it after a refused save."""
    values = record.would_be(changes(form, at)) if posted else (record.stored or {})
    return record.lay_out(form, shown_fields(form), values)


def form_data(customer: Customer, fields: t.Iterable[Field]) -> dict[str, t.Any]:
    return {f.name: to_form(f, getattr(customer, f.name, None)) for f in fields}


def opened(customer: Customer, form: DetailsForm | type[DetailsForm]) -> Opened:
    """The state a page of the form is opened at: the revision and the values shown."""
    return Opened.of(customer, [f.name for f in shown_fields(form)])


def save(customer: Customer, form: DetailsForm, at: Opened,
         snapshot: Snapshot) -> records.Written:
    """Write the fields the customer changed, as the signed-in WebGuest login by way of
    the portal; raises `records.Overlap` when the service desk changed one of them since
    the page was opened, `records.Missing` when the record was archived meanwhile,
    `records.Refused` for a value the rulebook refuses."""
    return at.save(ENTITY, customer.pk, stored_values(form), snapshot.live_fields(ENTITY),
                   records.trace.by_request(records.trace.PORTAL), unless_archived=True)


def reopen(form: DetailsForm, at: Opened, current: Customer) -> Opened:
    """After a refused save: the form shows the values now stored where the customer left
    a field as it was (keeping what they typed elsewhere), and is opened at the record
    as it is now, so saving again keeps both."""
    changed, _seen = at.changes(stored_values(form), shown_fields(form))
    for field in shown_fields(form):
        if field.name not in changed:
            form[field.name].process(None, to_form(field, getattr(current, field.name, None)))
            form[field.name].raw_data = None  # show that value, not the posted text
    return opened(current, form)


def overlap_message(form: DetailsForm, fields: list[str]) -> str:
    """Why a save was refused: the service desk changed these fields too (labels)."""
    labels = [form[name].label.text for name in fields if name in form]
    return ("Your details were changed by the service desk after you opened this page"
            + (f" ({listed(labels)})" if labels else "") + ", so nothing was saved. Check "
            "your changes below against the values now stored, then save again.")

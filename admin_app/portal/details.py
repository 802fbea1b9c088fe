"""A customer's own details on the portal: the fields the dictionary lets them see, and
a form for the ones it lets them change.

Which fields is the dictionary's (`customer_visible`, `customer_editable`), read from
the request's snapshot, so an admin's change shows on the next page. The form is built
like the record forms: the converter table's widget for each type and the rulebook's
reading and check (`dictionary/rules.py`) at the customer's Level, so a value the
admin's form refuses is refused here with the same message. Saving is a compare-and-set
on the record's revision, as the admin's saves are: a customer saving a page opened
before an agent's change does not undo it.
"""

from __future__ import annotations

import typing as t
from datetime import date, datetime

from flask import request
from flask_wtf import FlaskForm
from markupsafe import escape

from ..dictionary import Field, Snapshot
from ..dictionary.forms import CONVERTERS, MandatoryCheck, RuleCheck
from ..dictionary.rules import rule
from ..dictionary.values import to_form, to_storage
from ..lookups import LOOKUPS
from ..models import Customer
from ..models.records import write_if_at
from ..views.opened import REVISION_ARG

ENTITY = "customer"


def _in_form_order(snapshot: Snapshot, level: str, chosen: list[Field]) -> list[Field]:
    """`chosen` in the order the Level's form shows them, then the rest by name."""
    placed = [name for section in snapshot.layout(ENTITY, level) for name in section.fields]
    order = {name: index for index, name in enumerate(placed)}
    return sorted(chosen, key=lambda f: (order.get(f.name, len(order)), f.name))


def visible_fields(snapshot: Snapshot, level: str) -> list[Field]:
    return _in_form_order(snapshot, level, [f for f in snapshot.live_fields(ENTITY)
                                            if f.customer_visible or f.customer_editable])


def editable_fields(snapshot: Snapshot, level: str) -> list[Field]:
    # The dictionary refuses editable system and reference fields; kept out here too,
    # so a definition stored before that check cannot open them to customers.
    return [f for f in visible_fields(snapshot, level)
            if f.customer_editable and not f.system and f.type != "reference"]


def shown_value(field: Field, value: t.Any) -> str:
    """A stored value as text for the page (escaped by the template)."""
    if value is None or value == "":
        return ""
    if field.type == "reference":
        loader = LOOKUPS.get(field.target or "")
        record = loader.get_one(value) if loader is not None else None
        return str(record) if record is not None else ""
    if field.type == "boolean":
        return "Yes" if value else "No"
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


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
                "validators": [(MandatoryCheck if checked.mandatory else RuleCheck)(checked)],
            }
            attrs[field.name] = CONVERTERS[field.type](checked, kw)
        return type(f"Portal{level}DetailsForm", (DetailsForm,), attrs)

    return snapshot.memo(("portal-details-form", level), build)


def form_data(customer: Customer, fields: t.Iterable[Field]) -> dict[str, t.Any]:
    return {f.name: to_form(f, getattr(customer, f.name, None)) for f in fields}


def opened_revision() -> int | None:
    """The revision the posted form was opened at (its hidden `_revision`, named as on
    the admin's record forms); None when it sent none, which only a hand-made request
    does."""
    text = request.form.get(REVISION_ARG, "").strip()
    return int(text) if text.isdigit() and len(text) <= 15 else None


def save(customer: Customer, form: DetailsForm, revision: int) -> bool:
    """Write the form's fields only if the record is still at `revision` and not archived;
    False (nothing written) when it has moved on."""
    return write_if_at(customer, revision, stored_values(form), unless_archived=True)

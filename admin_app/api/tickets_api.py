"""Tickets as JSON: list, read, log one for a customer, and close one.

The same behaviours as the ticket screen (`views/tickets.py`), by the same code:

- The ticket's own fields (customer, summary, description, status, contact) are read and
  checked by the screen's own form class (`tickets/form.py`), so each value gets the
  screen's verdict and message (the contact must be one of the customer's or its Org's).
- Brought-forward fields are copied from the customer as the screen copies them; a
  request may give others under `brought_forward` (as an agent may edit them on the
  form), each read and checked by the rulebook at the ticket's Level, as the form does.
- A save is `tickets.intake.prepare` then `finish`, the two functions the screen's save
  calls; closing is `tickets.closing.close`, which queues the closure notice (with News
  on Closure) in the outbox and tries to send it, once per closing.

Tickets are not dictionary records: they have no revision and no record history, and
logging or closing one changes no customer record. Closing is an action, not a PATCH:
it is a compare-and-set on the status (only an open ticket closes), so two clients
closing one ticket cause one close and one notice, and the second is told so (409).
"""

from __future__ import annotations

import json
import typing as t
from datetime import datetime
from urllib.parse import urlencode

from flask import Response, request, url_for
from werkzeug.datastructures import MultiDict

from .. import dictionary
from ..dictionary import Field
from ..dictionary.rules import Rule
from ..models import Customer, Ticket
from ..models.api_tokens import ApiToken
from ..models.kept import now
from ..models.tickets import STATUSES
from ..targets import object_id
from ..tickets import brought_forward, copied_values, facts_for, intake
from ..tickets.closing import CLOSED_MEANWHILE, close
from ..tickets.form import TICKET, kept_fields, ticket_form_class
from ..views.tickets import TicketView
from . import access, paging, spec
from .blueprint import bp
from .bodies import record_body
from .problems import Problem, field_error
from .records_api import LONGEST_PAGE, PAGE, json_value

RESOURCE = "tickets"
# What a request gives a new ticket: the screen form's own fields, and the overrides.
OWN_FIELDS = ("customer", "summary", "description", "status", "contact")
BROUGHT_FORWARD = "brought_forward"
SET_BY_DICTADMIN = ("id", "logged_at", "closed_at", "updated_at", "brought_forward_labels",
                    "email", "expired_on", "sla", "response_due", "resolution_due")
WRITERS = tuple(TicketView.roles)  # the roles the ticket screen lets in


# -- representation ------------------------------------------------------------------------

def _instant(value: t.Any) -> str | None:
    """A stored time (UTC, to the millisecond as the stores keep it) as RFC 3339."""
    if not isinstance(value, datetime):
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _id(value: t.Any) -> str | None:
    return None if value is None else str(value)


def representation(document: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A ticket as it was logged: the brought-forward values as their types write JSON,
    under the labels they had then."""
    labels = document.get("brought_forward_labels") or {}
    kept = document.get("brought_forward") or {}
    copied = {f.name: None if kept.get(f.name) is None else f.kind.to_json(f, kept[f.name])
              for f in kept_fields(dictionary.current(), labels)}
    return {
        "id": str(document["_id"]), "customer": _id(document.get("customer")),
        "contact": _id(document.get("contact")), "summary": document.get("summary"),
        "description": document.get("description"), "status": document.get("status"),
        "logged_at": _instant(document.get("logged_at")),
        "closed_at": _instant(document.get("closed_at")),
        "updated_at": _instant(document.get("updated_at")),
        "brought_forward": copied, "brought_forward_labels": dict(labels),
        "email": document.get("email"), "expired_on": _instant(document.get("expired_on")),
        "sla": _id(document.get("sla")),
        "response_due": _instant(document.get("response_due")),
        "resolution_due": _instant(document.get("resolution_due")),
    }


def _answer(document: t.Mapping[str, t.Any], status: int = 200, **headers: str) -> Response:
    answer = Response(json.dumps(representation(document)), status=status,
                      mimetype="application/json")
    answer.headers.update(headers)
    return answer


def _found(ticket_id: str) -> dict[str, t.Any]:
    oid = object_id(ticket_id)
    document = Ticket._get_collection().find_one({"_id": oid}) if oid is not None else None
    if document is None:
        raise Problem(404, "not-found", f"There is no ticket with the id {ticket_id!r}.")
    return document


def _writer() -> ApiToken:
    found = access.token(write=True)
    role = getattr(found.user, "role", None)
    if role not in WRITERS:
        raise Problem(403, "role", f"A {role} login may not log or close tickets: the ticket "
                                   f"screen is for {' and '.join(WRITERS)} logins.")
    return found


# -- list ----------------------------------------------------------------------------------

def _cursor(at: datetime, seen: int) -> str:
    """Where the next page starts: tickets logged at or before `at`, less the `seen` ones
    logged exactly then that earlier pages gave."""
    return paging.cursor({"at": at.isoformat(), "seen": seen})


def _after(text: str) -> tuple[datetime, int]:
    read = paging.resumed(text)
    try:
        at, seen = datetime.fromisoformat(read["at"]), int(read["seen"])
        if seen < 0 or seen > 1000 or at.tzinfo is not None:  # stored times are naive UTC
            raise ValueError(seen)
    except (ValueError, KeyError, TypeError) as exc:
        raise paging.not_ours() from exc
    return at, seen


def _list_query() -> dict[str, t.Any]:
    query: dict[str, t.Any] = {}
    customer = request.args.get("customer")
    if customer is not None:
        oid = object_id(customer)
        if oid is None:
            raise Problem(400, "bad-filter", "customer must be the id of a customer record.")
        query["customer"] = oid
    status = request.args.get("status")
    if status is not None:
        if status not in STATUSES:
            raise Problem(400, "bad-filter", f"status must be one of {', '.join(STATUSES)}.")
        query["status"] = status
    return query


@bp.get(f"/{RESOURCE}")
def list_tickets() -> Response:
    """Newest first, as the screen lists them, on the (…, -logged_at) indexes the screen
    uses; the cursor is a logging time (ties within one millisecond are counted off)."""
    access.token()
    limit, query = paging.limit(request.args.get("limit")), _list_query()
    seen = 0
    if "after" in request.args:
        at, seen = _after(request.args["after"])
        query["logged_at"] = {"$lte": at}
    found = list(Ticket._get_collection().find(query).sort("logged_at", -1)
                 .skip(seen).limit(limit + 1))
    page = found[:limit]
    answer = Response(json.dumps({"items": [representation(d) for d in page]}),
                      mimetype="application/json")
    if len(found) > limit:
        last = page[-1]["logged_at"]
        same = sum(1 for d in page if d["logged_at"] == last)
        before = seen if "logged_at" in query and query["logged_at"]["$lte"] == last else 0
        arguments = {**request.args.to_dict(), "after": _cursor(last, before + same)}
        answer.headers["Link"] = f'<{url_for(".list_tickets")}?{urlencode(arguments)}>; ' \
                                 f'rel="next"'
    return answer


@bp.get(f"/{RESOURCE}/<ticket_id>")
def read_ticket(ticket_id: str) -> Response:
    access.token()
    return _answer(_found(ticket_id))


# -- logging one ---------------------------------------------------------------------------

def _form_data(body: t.Mapping[str, t.Any], errors: list[dict[str, str]]) -> MultiDict:
    """The ticket's own fields as the screen's form receives them (text); a value that is
    not text is refused here, in the words the files use for the same mistake."""
    data: MultiDict = MultiDict()
    for name in OWN_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(field_error(name, name.capitalize(), "invalid",
                                      f"{name.capitalize()} must be text, not a number, list "
                                      f"or object."))
            continue
        data.add(name, value)
    data.setdefault("status", "open")  # the screen's form starts Open
    return data


def _form_code(name: str, value: t.Any) -> str:
    """The stable code of a refusal by the screen's form (which gives words only)."""
    blank = value is None or (isinstance(value, str) and not value.strip())
    return {"customer": "mandatory" if blank else "not_found",
            "summary": "mandatory" if blank else "too_long",
            "description": "too_long", "status": "not_a_choice",
            "contact": "not_a_contact"}.get(name, "invalid")


def _overrides(body: t.Mapping[str, t.Any], copied: t.Sequence[Field],
               errors: list[dict[str, str]]) -> dict[str, t.Any]:
    """Brought-forward values the request gives instead of the customer's, read and
    checked as the form's brought-forward fields read them (`Rule` at TICKET)."""
    given = body.get(BROUGHT_FORWARD)
    if given is None:
        return {}
    if not isinstance(given, dict):
        errors.append(field_error(BROUGHT_FORWARD, "Brought forward", "invalid",
                                  "brought_forward must be an object of field names and "
                                  "values."))
        return {}
    fields = {f.name: f for f in copied}
    values: dict[str, t.Any] = {}
    for key, value in given.items():
        name = f"{BROUGHT_FORWARD}.{key}"
        definition = fields.get(key)
        if definition is None:
            errors.append(field_error(name, str(key), "unknown_field",
                                      f"{key!r} is not brought forward onto tickets; those "
                                      f"that are: {', '.join(fields) or 'none'}."))
            continue
        read, refused = json_value(name, Rule(definition, TICKET), value)
        if refused is not None:
            errors.append(refused)
        else:
            values[key] = read
    return values


def _refused(errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "validation", f"Nothing was saved: {len(errors)} field"
                                      f"{'s' if len(errors) > 1 else ''} refused.", errors)


@bp.post(f"/{RESOURCE}")
def log_ticket() -> Response:
    """Log a ticket for a customer, as the ticket screen's form does."""
    _writer()
    body = record_body()
    errors = [field_error(str(key), str(key), "read_only" if key in SET_BY_DICTADMIN
                          else "unknown_field",
                          f"{key} is set by Dictadmin, not by a request."
                          if key in SET_BY_DICTADMIN else
                          f"{key!r} is not a field of tickets; they are "
                          f"{', '.join((*OWN_FIELDS, BROUGHT_FORWARD))}.")
              for key in body if key not in (*OWN_FIELDS, BROUGHT_FORWARD)]
    snapshot = dictionary.current()
    copied = brought_forward(snapshot)
    # The screen's form, with its own fields only: brought-forward values come as JSON.
    form = ticket_form_class(snapshot, ())(formdata=_form_data(body, errors),
                                           meta={"csrf": False})
    record = form.customer.data
    facts = facts_for(record, now(), snapshot) if isinstance(record, Customer) else None
    form.offer_contacts(facts.contacts if facts else ())
    if not form.validate():
        named = {e["field"] for e in errors}
        for name, messages in form.errors.items():
            if name in named or not messages:
                continue
            label = form[name].label.text if name in form else name
            # The first of the screen's messages: the one it lists first, which says it
            # (a customer that no longer exists is also, then, not chosen).
            errors.append(field_error(name, label, _form_code(name, body.get(name)),
                                      str(messages[0])))
    overrides = _overrides(body, copied, errors)
    if errors or facts is None:
        raise _refused(errors or [field_error("customer", "Customer", "mandatory",
                                              "Choose the customer this ticket is for.")])
    ticket = Ticket()
    form.populate_obj(ticket)  # the ticket's own fields, as the screen reads them
    closing = intake.prepare(ticket, {**copied_values(facts), **overrides}, copied,
                             record=record)
    ticket.save()
    intake.finish(ticket, closing)
    location = url_for(".read_ticket", ticket_id=str(ticket.pk))
    return _answer(_found(str(ticket.pk)), 201, Location=location)


# -- closing one ---------------------------------------------------------------------------

@bp.post(f"/{RESOURCE}/<ticket_id>/<action>")
def act_on_ticket(ticket_id: str, action: str) -> Response:
    if action != "close":
        raise Problem(404, "not-found", f"A ticket's action is close, not {action!r}.")
    _writer()
    document = _found(ticket_id)
    ticket = Ticket.objects(pk=document["_id"]).first()
    if ticket is None or document.get("status") == "closed":
        raise Problem(409, "already-closed", f"This ticket is already closed (at "
                                             f"{_instant(document.get('closed_at'))}); it was "
                                             f"not closed again.")
    if not close(ticket):
        raise Problem(409, "already-closed", CLOSED_MEANWHILE)
    return _answer(_found(ticket_id))


@bp.route(f"/{RESOURCE}/<ticket_id>", methods=["PATCH", "PUT", "DELETE"])
def no_change(ticket_id: str) -> Response:
    """A logged ticket keeps what it was logged with; closing is an action."""
    if request.method == "DELETE":
        words = "Tickets are never deleted"
    else:
        words = "A ticket is not changed through the API"
    raise Problem(405, "method", f"{words}: close one with POST "
                                 f"/api/v1/tickets/{ticket_id}/close.",
                  headers={"Allow": "GET"})


# -- the description (OpenAPI) -------------------------------------------------------------

_TIME = {"type": ["string", "null"], "format": "date-time"}
_ID = {"type": ["string", "null"]}


def _ticket_schema() -> dict[str, t.Any]:
    return {
        "type": "object", "title": "Ticket",
        "description": "A ticket as it was logged: the brought-forward values under the "
                       "labels they had then, the SLA's due times, and, once closed, when.",
        "required": ["id", "customer", "summary", "status", "logged_at", "brought_forward",
                     "brought_forward_labels"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "customer": {"type": "string", "description": "The customer record's id."},
            "contact": {**_ID, "description": "The contact's id (of the customer or its "
                                              "Org)."},
            "summary": {"type": "string"}, "description": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": list(STATUSES)},
            "logged_at": _TIME, "closed_at": _TIME, "updated_at": _TIME,
            "brought_forward": {"type": "object", "description": "Field name → the value "
                                "copied from the customer (or given) when it was logged."},
            "brought_forward_labels": {"type": "object",
                                       "additionalProperties": {"type": "string"},
                                       "description": "Field name → its label then."},
            "email": {"type": ["string", "null"],
                      "description": "Where the closure notice goes."},
            "expired_on": {**_TIME, "description": "The expiry date that had passed when "
                                                   "it was logged."},
            "sla": _ID, "response_due": _TIME, "resolution_due": _TIME,
        },
    }


def _create_schema(snapshot: t.Any) -> dict[str, t.Any]:
    copied = brought_forward(snapshot) if "customer" in snapshot.entities else ()
    word = snapshot.entity("customer").singular if "customer" in snapshot.entities \
        else "Customer"
    return {
        "type": "object", "title": "A new ticket",
        "description": "Checked as the ticket form checks it, with its messages. The "
                       "brought-forward fields are copied from the customer; give "
                       "`brought_forward` values to log others (null: none). status closed "
                       "logs it and closes it, which sends the closure notice.",
        "required": ["customer", "summary"], "additionalProperties": False,
        "properties": {
            "customer": {"type": "string", "title": word,
                         "description": f"The id of the {word.lower()} (any Level) this "
                                        f"ticket is for."},
            "summary": {"type": "string", "title": "Summary", "minLength": 1,
                        "maxLength": 200},
            "description": {"type": ["string", "null"], "title": "Description",
                            "maxLength": 20000},
            "status": {"type": "string", "title": "Status", "enum": list(STATUSES),
                       "default": "open"},
            "contact": {"type": ["string", "null"], "title": "Contact",
                        "description": "The id of a contact of the customer or its Org."},
            BROUGHT_FORWARD: {
                "type": "object", "title": "Brought forward",
                "additionalProperties": False,
                "properties": {f.name: spec.value_schema(f, nullable=True) for f in copied}},
        },
    }


def _paths() -> dict[str, t.Any]:
    tags = [RESOURCE]
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The ticket's id."}
    one = {"content": spec.json_content(spec.ref("Ticket"))}
    return {
        f"/{RESOURCE}": {
            "get": {"operationId": "listTickets", "tags": tags, "summary": "List tickets",
                    "description": "Newest first, a page at a time: follow the Link header.",
                    "parameters": [
                        {"name": "customer", "in": "query", "required": False,
                         "description": "Only this customer record's tickets (its id).",
                         "schema": {"type": "string"}},
                        {"name": "status", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": list(STATUSES)}},
                        *spec.paging_parameters(LONGEST_PAGE, PAGE)],
                    "responses": {"200": {
                        "description": "A page of tickets.",
                        "headers": {"Link": spec.header('The next page: <URL>; rel="next".')},
                        "content": spec.json_content(spec.ref("TicketList"))},
                        **spec.errors(400, 401, 429)}},
            "post": {"operationId": "logTicket", "tags": tags,
                     "summary": "Log a ticket for a customer",
                     "description": "As the ticket screen logs one: the customer's "
                                    "brought-forward values, its (or its Org's) SLA and due "
                                    "times, a passed expiry date.",
                     "requestBody": {"required": True, "content": spec.json_content(
                         spec.ref("TicketCreate"))},
                     "responses": {
                         "201": {"description": "The ticket as logged.", **one,
                                 "headers": {"Location": spec.header(
                                     "Where the new ticket is read.")}},
                         **spec.errors(400, 401, 403, 413, 415, 422, 429)}},
        },
        f"/{RESOURCE}/{{id}}": {
            "parameters": [ident],
            "get": {"operationId": "readTicket", "tags": tags, "summary": "Read a ticket",
                    "responses": {"200": {"description": "The ticket.", **one},
                                  **spec.errors(401, 404, 429)}},
            "delete": {"operationId": "deleteTicket", "tags": tags,
                       "summary": "Tickets are never deleted",
                       "description": "Answers 405 (so does PATCH): close a ticket with its "
                                      "close action.",
                       "responses": {"405": spec.problem(
                           "Tickets are never deleted or changed here.",
                           Allow=spec.header("The methods the address takes.")),
                           "default": spec.ref("Error", "responses")}},
        },
        f"/{RESOURCE}/{{id}}/close": {
            "parameters": [ident],
            "post": {"operationId": "closeTicket", "tags": tags, "summary": "Close a ticket",
                     "description": "As the ticket screen closes one: the closure notice, "
                                    "with the customer's and its Org's News on Closure, is "
                                    "queued in the outbox and sent.",
                     "responses": {
                         "200": {"description": "The ticket, closed.", **one},
                         "409": spec.problem("The ticket was already closed: it was not "
                                             "closed, or notified, twice."),
                         **spec.errors(401, 403, 404, 429)}},
        },
    }


@spec.provider
def paths(snapshot: t.Any) -> spec.Contribution:
    """Tickets in the API's description: their own fields are fixed in code; the
    brought-forward ones a request may give are the dictionary's flagged fields now."""
    return {"paths": _paths(),
            "components": {"schemas": {
                "Ticket": _ticket_schema(), "TicketCreate": _create_schema(snapshot),
                "TicketList": {"type": "object", "required": ["items"],
                               "additionalProperties": False,
                               "properties": {"items": {"type": "array",
                                                        "items": spec.ref("Ticket")}}}}},
            "tags": [{"name": RESOURCE, "description": "Tickets logged for customer "
                                                       "records."}]}

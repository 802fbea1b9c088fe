"""Customers (Orgs are customers at Level Org) and contacts: list, read, create, change,
archive and restore, as JSON. A thin adapter: values are read and checked by the
rulebook (the field types' `from_json`, then the write path's checks) and written by the
record write path, so an API change is held to the form's rules and leaves history with
way in "api" and the token's login.

A record's representation holds its id, revision and Archive flag, and every live field
of its entity (null when it has no value), each as its type writes JSON (`to_json`).
Its ETag is made from the revision: a PATCH must send it back in If-Match, so a change
never overwrites one the client has not seen.
"""

from __future__ import annotations

import json
import typing as t
from urllib.parse import urlencode

from bson import ObjectId
from flask import Response, request, url_for

from .. import dictionary, records
from ..dictionary.rules import Invalid, Rule, rule
from ..dictionary.types.reference import gone
from ..dictionary.values import to_storage
from ..records.history import same
from ..records.write import collection_of, level_of, problems
from ..targets import TARGETS, object_id
from . import access, filters, paging
from .blueprint import bp
from .bodies import record_body
from .problems import Problem, field_error

# The URL's word for each entity.
RESOURCES = {"customers": "customer", "contacts": "contact"}
SET_BY_DICTADMIN = ("id", "revision")
PAGE, LONGEST_PAGE = paging.PAGE, paging.LONGEST_PAGE
# Natural keys a record can be read by: (query arguments) per entity.
NATURAL_KEYS = {"customer": (("email",), ("name", "level")), "contact": (("email",),)}


def _entity(resource: str) -> str:
    if resource not in RESOURCES:
        raise Problem(404, "not-found", f"There is no resource {resource!r}: the API has "
                                        f"{', '.join(RESOURCES)}.")
    return RESOURCES[resource]


# -- representation ----------------------------------------------------------------------

def representation(entity: str, document: t.Mapping[str, t.Any],
                   chosen: t.Collection[str] | None = None) -> dict[str, t.Any]:
    snapshot = dictionary.current()
    body: dict[str, t.Any] = {"id": str(document["_id"]),
                              "revision": int(document.get("revision") or 0),
                              "archived": bool(document.get("archived"))}
    for field in snapshot.live_fields(entity):
        if field.name in body or (chosen is not None and field.name not in chosen):
            continue
        value = document.get(field.name)
        body[field.name] = None if value is None else field.kind.to_json(field, value)
    return body


def etag(document: t.Mapping[str, t.Any]) -> str:
    return f'"{document["_id"]}-{int(document.get("revision") or 0)}"'


def _answer(entity: str, document: t.Mapping[str, t.Any], status: int = 200,
            **headers: str) -> Response:
    answer = Response(json.dumps(representation(entity, document)), status=status,
                      mimetype="application/json")
    answer.headers["ETag"] = etag(document)
    answer.headers.update(headers)
    return answer


# -- reading values ----------------------------------------------------------------------

def stored_values(entity: str, body: t.Mapping[str, t.Any],
                  stored: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The body's values as the record stores them, or a 422 naming every field refused,
    as a form names them all at once: each value read and checked by the rulebook, and
    what the record as it would be breaks (a field mandatory on its Level or by a rule in
    force left without a value, a choice a rule narrows, a field a rule makes read-only
    changed). The write path checks again as it writes (the record may change
    meanwhile)."""
    snapshot = dictionary.current()
    level = level_of(entity, {**(stored or {}), **body}, snapshot)
    fields = {f.name: f for f in snapshot.live_fields(entity)}
    values: dict[str, t.Any] = {}
    errors = []
    for key, value in body.items():
        field = fields.get(key)
        if key in SET_BY_DICTADMIN:
            errors.append(field_error(key, key, "read_only",
                                      f"{key} is set by Dictadmin, not by a request."))
        elif key == "archived":
            errors.append(field_error(key, field.label if field else key, "read_only",
                                      "Archive or restore a record with POST …/archive or "
                                      "…/restore."))
        elif field is None:
            errors.append(field_error(str(key), str(key), "unknown_field",
                                      f"{key!r} is not a field of {entity} records; the "
                                      f"fields are in GET /api/v1/openapi.json."))
        else:
            read, refused = json_value(key, rule(snapshot, entity, key, level), value)
            if refused is not None:
                errors.append(refused)
            else:
                values[key] = read
    named = {e["field"] for e in errors}
    errors += [_error(p) for p in _as_it_would_be(entity, values, stored, level, snapshot)
               if p.field not in named]
    if errors:
        raise Problem(422, "validation", _refused_words(errors), errors)
    return values


def _as_it_would_be(entity: str, values: dict[str, t.Any], stored: t.Mapping[str, t.Any] | None,
                    level: str, snapshot: t.Any) -> list[records.Problem]:
    """What the write path would refuse of the record with these values, as it will
    refuse it (a new record without a Level gets the first, as the write path gives it)."""
    if stored is None:
        record = {"archived": False, "level": level,
                  **{k: v for k, v in values.items() if v is not None}}
        return problems(entity, record, record, snapshot)
    after = {k: v for k, v in {**stored, **values}.items() if v is not None}
    changed = [n for n in values if not same(stored.get(n), values[n])]
    return problems(entity, after, changed, snapshot, before=stored)


def _error(problem: records.Problem) -> dict[str, str]:
    return field_error(problem.field, problem.label, problem.code, problem.message,
                       problem.rule)


def json_value(name: str, checking: Rule, value: t.Any) -> tuple[t.Any, dict[str, str] | None]:
    """A value from a request as the record stores it, read and checked by the field's
    rule, a reference's id resolved to its record; or the field's error (`name` is how
    the request named it)."""
    field = checking.field
    try:
        read = checking.accept_json(value)
    except Invalid as exc:
        return None, field_error(name, field.label, exc.code, str(exc))
    if field.kind.is_reference and read is not None:
        target = TARGETS.get(field.target or "")
        found = target.get(read) if target is not None else None
        if found is None:  # the form's words for the same refusal
            return None, field_error(name, field.label, "not_found", gone(field.label))
        read = found.pk
    return to_storage(field, read), None


def _refused_words(errors: list[dict[str, str]]) -> str:
    return f"Nothing was saved: {len(errors)} field{'s' if len(errors) > 1 else ''} refused."


def _refused(exc: records.Refused) -> Problem:
    errors = [_error(p) for p in exc.problems]
    return Problem(422, "validation", _refused_words(errors), errors)


def _found(entity: str, record_id: str) -> dict[str, t.Any]:
    oid = object_id(record_id)
    document = collection_of(entity).find_one({"_id": oid}) if oid is not None else None
    if document is None:
        raise Problem(404, "not-found", f"There is no {entity} with the id {record_id!r}.")
    return document


# -- list --------------------------------------------------------------------------------

def _single(name: str) -> str | None:
    given = request.args.getlist(name)
    if len(given) > 1:
        raise Problem(400, "bad-argument", f"Give {name} once, not {len(given)} times.")
    return given[0] if given else None


def _cursor(plan: filters.Plan, document: t.Mapping[str, t.Any]) -> str:
    return filters.cursor(plan, document)


def _after(plan: filters.Plan) -> tuple[t.Any, ObjectId] | None:
    text = _single("after")
    return None if text is None else filters.after(plan, text)


def _limit() -> int:
    return paging.limit(_single("limit"))


def _chosen_fields(entity: str) -> set[str] | None:
    text = _single("fields")
    if text is None:
        return None
    names = {name.strip() for name in text.split(",") if name.strip()}
    known = {f.name for f in dictionary.current().live_fields(entity)}
    unknown = sorted(names - known - {"id", "revision", "archived"})
    if unknown:
        raise Problem(400, "unknown-field", f"fields names what is not a field of {entity} "
                                            f"records: {', '.join(unknown)}.")
    return names


@bp.get("/<resource>")
def list_records(resource: str) -> Response:
    """One page, in the sort's order after the cursor. The store applies the conditions
    its index serves; any other is checked here on at most `filters.SCAN` records, so a
    page costs the same at any store size (filters.py says why a page may be short)."""
    entity = _entity(resource)
    access.token()
    limit, chosen = _limit(), _chosen_fields(entity)
    plan = filters.list_query(entity, request.args)
    reading = filters.SCAN if plan.checked else limit + 1
    found = collection_of(entity).find(plan.query(_after(plan))).sort(plan.order) \
        .limit(reading)
    page: list[t.Mapping[str, t.Any]] = []
    read, last, more = 0, None, False
    for document in found:
        read, last = read + 1, document
        if plan.holds(document):
            if len(page) == limit:
                more = True
                break
            page.append(document)
    resume = page[-1] if more else last if read == reading else None
    answer = Response(json.dumps({"items": [representation(entity, d, chosen) for d in page]}),
                      mimetype="application/json")
    if resume is not None:
        arguments = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
        arguments.append(("after", _cursor(plan, resume)))
        answer.headers["Link"] = (f'<{url_for(".list_records", resource=resource)}?'
                                  f'{urlencode(arguments)}>; rel="next"')
    return answer


# -- one record --------------------------------------------------------------------------

@bp.get("/<resource>/<record_id>")
def read_record(resource: str, record_id: str) -> Response:
    entity = _entity(resource)
    access.token()
    return _answer(entity, _found(entity, record_id))


@bp.get("/<resource>/lookup")
def lookup_record(resource: str) -> Response:
    """By natural key: ?email=…, or (customers) ?name=…&level=…"""
    entity = _entity(resource)
    access.token()
    for keys in NATURAL_KEYS[entity]:
        if set(keys) <= set(request.args):
            query = {key: request.args[key] for key in keys}
            if "email" in query:
                query["email"] = query["email"].strip().lower()  # as emails are stored
            found = list(collection_of(entity).find(query).limit(2))
            if not found:
                raise Problem(404, "not-found", f"No {entity} has "
                              f"{' and '.join(f'{k} {v!r}' for k, v in query.items())}.")
            if len(found) > 1:
                raise Problem(409, "ambiguous", f"More than one {entity} has "
                              f"{' and '.join(f'{k} {v!r}' for k, v in query.items())}: "
                              f"read them by id.")
            return _answer(entity, found[0])
    words = " or ".join("&".join(f"{k}=…" for k in keys) for keys in NATURAL_KEYS[entity])
    raise Problem(400, "bad-lookup", f"Look a {entity} up by {words}.")


@bp.post("/<resource>")
def create_record(resource: str) -> Response:
    entity = _entity(resource)
    found = access.token(write=True)
    values = stored_values(entity, record_body())
    try:
        written = records.create(entity, values, access.write_trace(found))
    except records.Refused as exc:
        raise _refused(exc) from exc
    location = url_for(".read_record", resource=resource, record_id=str(written.record["_id"]))
    return _answer(entity, written.record, 201, Location=location)


def _revision_asked(document: t.Mapping[str, t.Any]) -> int:
    asked = request.headers.get("If-Match")
    if not asked:
        raise Problem(428, "if-match-required", "Send the ETag you last read as If-Match, so "
                                                "that this change cannot overwrite one you "
                                                "have not seen.")
    current = etag(document)
    if asked.strip() not in (current, "W/" + current):
        raise Problem(412, "stale", f"The record has changed since you read it (it is now at "
                                    f"revision {int(document.get('revision') or 0)}): read "
                                    f"it again and make your change to what it holds now.",
                      headers={"ETag": current})
    return int(document.get("revision") or 0)


@bp.patch("/<resource>/<record_id>")
def change_record(resource: str, record_id: str) -> Response:
    entity = _entity(resource)
    found = access.token(write=True)
    document = _found(entity, record_id)
    revision = _revision_asked(document)
    values = stored_values(entity, record_body(), document)
    try:
        written = records.update(entity, document["_id"], values, access.write_trace(found),
                                 revision=revision)
    except records.Overlap as exc:
        raise Problem(412, "stale", "The record changed while this change was made: read it "
                                    "again and make your change to what it holds now.",
                      headers={"ETag": etag(exc.current)}) from exc
    except records.Refused as exc:
        raise _refused(exc) from exc
    except records.Missing as exc:
        raise Problem(404, "not-found", f"There is no {entity} with the id {record_id!r}.") \
            from exc
    return _answer(entity, written.record)


@bp.post("/<resource>/<record_id>/<action>")
def act_on_record(resource: str, record_id: str, action: str) -> Response:
    entity = _entity(resource)
    if action not in ("archive", "restore"):
        raise Problem(404, "not-found", f"A record's actions are archive and restore, not "
                                        f"{action!r}.")
    found = access.token(write=True)
    document = _found(entity, record_id)
    act = records.archive if action == "archive" else records.restore
    try:
        written = act(entity, document["_id"], access.write_trace(found))
    except records.Refused as exc:  # a record restored must hold what its Level needs
        raise _refused(exc) from exc
    return _answer(entity, written.record)


@bp.delete("/<resource>/<record_id>")
def delete_record(resource: str, record_id: str) -> Response:
    _entity(resource)
    raise Problem(405, "no-delete", "Records are never deleted: archive it with POST "
                                    f"/api/v1/{resource}/{record_id}/archive (restore undoes "
                                    f"that).", headers={"Allow": "GET, PATCH"})

"""Contracts and SLAs as JSON: list, read, create and change; never deleted.

They are short lists of terms, not dictionary records: a fixed shape (`models/catalog.py`),
no revision and no record history, written as the importer writes them (one document,
stamped `archived` and `updated_at`). What a value must be is decided by the importer's
Marshmallow schemas (`ContractSchema`, `SLASchema`), so a value sent here gets the same
verdict and the same message as in a JSON file.

**The ETag without a revision.** A contract has no revision to make an ETag from, so its
ETag is a digest of everything the document holds (its `updated_at` included, which every
writer stamps). A PATCH must send it back in If-Match (428 without, 412 when it no longer
matches), and the change is then written as one compare-and-set: an update whose filter
is every field as it was read, so a change stored between the read and the write (by a
screen, a file load or another request) makes the update match nothing, and the client
gets 412 instead of overwriting a change it has not seen.

Who may write them: the roles of their screens (`views/catalog.py`, staff), read from
those views' own access rule so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import mongoengine as me
from bson import ObjectId
from flask import Response, request, url_for
from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as mf
from pymongo.errors import DuplicateKeyError

from ..importer.schemas import ContractSchema, SLASchema
from ..models import SLA, Contract
from ..models.api_tokens import ApiToken
from ..models.kept import now
from ..targets import object_id
from ..views.catalog import ContractView, SLAView
from . import access, paging, spec
from .blueprint import bp
from .bodies import record_body
from .problems import Problem, field_error
from .records_api import LONGEST_PAGE, PAGE

SET_BY_DICTADMIN = ("id", "updated_at")


@dataclass(frozen=True)
class Catalog:
    """One catalog resource: its URL word, model, file schema and screen."""

    resource: str  # the URL's word: contracts, slas
    singular: str  # "contract", "SLA": what a sentence calls one
    model: type[me.Document]
    schema: Schema
    writers: tuple[str, ...]  # the roles its screen lets in

    @property
    def collection(self) -> t.Any:
        return self.model._get_collection()

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema.fields)

    def label(self, name: str) -> str:
        """A field's label as the importer's report names it ("Expiry date")."""
        return name.replace("_", " ").capitalize()


CATALOGS = {
    "contracts": Catalog("contracts", "contract", Contract, ContractSchema(),
                         tuple(ContractView.roles)),
    "slas": Catalog("slas", "SLA", SLA, SLASchema(), tuple(SLAView.roles)),
}


# -- representation ----------------------------------------------------------------------

def _json_value(schema_field: mf.Field, value: t.Any) -> t.Any:
    if isinstance(value, datetime):
        if isinstance(schema_field, mf.Date):  # kept as midnight: the stores have no date
            return value.date().isoformat()
        return _instant(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _instant(value: datetime) -> str:
    """A stored time (UTC, to the millisecond as the stores keep it) as RFC 3339."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def representation(catalog: Catalog, document: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    body: dict[str, t.Any] = {"id": str(document["_id"])}
    for name, schema_field in catalog.schema.fields.items():
        value = document.get(name)
        body[name] = bool(value) if name == "archived" else (
            None if value is None else _json_value(schema_field, value))
    stamped = document.get("updated_at")
    body["updated_at"] = _instant(stamped) if isinstance(stamped, datetime) else None
    return body


def _compared(catalog: Catalog, document: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The fields a change is conditional on: every field, as read (None when absent)."""
    return {name: document.get(name) for name in (*catalog.fields, "updated_at")}


def etag(catalog: Catalog, document: t.Mapping[str, t.Any]) -> str:
    """A digest of what the document holds (see the module docstring)."""
    held = json.dumps(_compared(catalog, document), sort_keys=True, default=str)
    return f'"{document["_id"]}-{hashlib.sha256(held.encode()).hexdigest()[:20]}"'


def _answer(catalog: Catalog, document: t.Mapping[str, t.Any], status: int = 200,
            **headers: str) -> Response:
    answer = Response(json.dumps(representation(catalog, document)), status=status,
                      mimetype="application/json")
    answer.headers["ETag"] = etag(catalog, document)
    answer.headers.update(headers)
    return answer


# -- reading values ----------------------------------------------------------------------

def _code(schema_field: mf.Field, value: t.Any, missing: bool) -> str:
    """A stable code for the rule a refused value broke (Marshmallow gives only words)."""
    if missing or value is None:
        return "mandatory"
    for validator in schema_field.validators:
        try:
            validator(value)
        except ValidationError:
            if isinstance(validator, validate.Length):
                return "too_long" if validator.max is not None and len(value) > validator.max \
                    else "too_short"
            if isinstance(validator, validate.Range):
                return "out_of_range"
            return "invalid"
        except TypeError:
            break
    return "invalid"


def _refused(errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "validation", f"Nothing was saved: {len(errors)} field"
                                      f"{'s' if len(errors) > 1 else ''} refused.", errors)


def values_of(catalog: Catalog, body: t.Mapping[str, t.Any], partial: bool) -> dict[str, t.Any]:
    """The body's values, read by the file schema (`partial`: a change, which needs no
    Name); a 422 naming every refused field at once, with the file's messages."""
    errors = []
    for key in body:
        if key in SET_BY_DICTADMIN:
            errors.append(field_error(key, key, "read_only",
                                      f"{key} is set by Dictadmin, not by a request."))
        elif key not in catalog.schema.fields:
            errors.append(field_error(str(key), str(key), "unknown_field",
                                      f"{key!r} is not a field of {catalog.singular}s; the "
                                      f"fields are {', '.join(catalog.fields)}."))
    known = {k: v for k, v in body.items() if k in catalog.schema.fields}
    try:
        values = catalog.schema.load(known, partial=partial)
    except ValidationError as exc:
        values = {}
        for name, messages in sorted(exc.normalized_messages().items()):
            words = " ".join(messages) if isinstance(messages, list) else str(messages)
            errors.append(field_error(name, catalog.label(name),
                                      _code(catalog.schema.fields[name], known.get(name),
                                            name not in known), words))
    if errors:
        raise _refused(errors)
    return values


def _name_taken(catalog: Catalog, name: str) -> Problem:
    return _refused([field_error("name", catalog.label("name"), "not_unique",
                                 f"A {catalog.singular} named {name!r} already exists; "
                                 f"choose another Name.")])


def _check_name_free(catalog: Catalog, values: t.Mapping[str, t.Any],
                     other_than: ObjectId | None = None) -> None:
    name = values.get("name")
    if name is None:
        return
    query: dict[str, t.Any] = {"name": name}
    if other_than is not None:
        query["_id"] = {"$ne": other_than}
    if catalog.collection.find_one(query, {"_id": 1}) is not None:
        raise _name_taken(catalog, name)


# -- who and what --------------------------------------------------------------------------

def _catalog(resource: str) -> Catalog:
    return CATALOGS[resource]


def _writer(catalog: Catalog) -> ApiToken:
    found = access.token(write=True)
    role = getattr(found.user, "role", None)
    if role not in catalog.writers:
        raise Problem(403, "role", f"A {role} login may not change {catalog.singular}s: their "
                                   f"screen is for {' and '.join(catalog.writers)} logins.")
    return found


def _found(catalog: Catalog, record_id: str) -> dict[str, t.Any]:
    oid = object_id(record_id)
    document = catalog.collection.find_one({"_id": oid}) if oid is not None else None
    if document is None:
        raise Problem(404, "not-found", f"There is no {catalog.singular} with the id "
                                        f"{record_id!r}.")
    return document


# -- list ----------------------------------------------------------------------------------

def _cursor(name: str) -> str:
    return paging.cursor({"after": name})


def _after(text: str) -> str:
    name = paging.resumed(text).get("after")
    if not isinstance(name, str):
        raise paging.not_ours()
    return name


def list_catalog(resource: str) -> Response:
    """By Name (unique, and the collection's index), as the screen lists them: current
    and archived alike, each saying which it is, unless `archived` picks one."""
    catalog = _catalog(resource)
    access.token()
    limit = paging.limit(request.args.get("limit"))
    query: dict[str, t.Any] = {}
    archived = request.args.get("archived")
    if archived is not None:
        if archived not in ("true", "false"):
            raise Problem(400, "bad-filter", "archived must be true or false.")
        # Stores from before `archived` was stamped hold current ones without it.
        query["archived"] = True if archived == "true" else {"$ne": True}
    if "after" in request.args:
        query["name"] = {"$gt": _after(request.args["after"])}
    found = list(catalog.collection.find(query).sort("name", 1).limit(limit + 1))
    page = found[:limit]
    answer = Response(json.dumps({"items": [representation(catalog, d) for d in page]}),
                      mimetype="application/json")
    if len(found) > limit:
        arguments = {**request.args.to_dict(), "after": _cursor(page[-1]["name"])}
        answer.headers["Link"] = (f'<{url_for(f".list_{resource}")}?{urlencode(arguments)}>; '
                                  f'rel="next"')
    return answer


# -- one ----------------------------------------------------------------------------------

def read_catalog(resource: str, record_id: str) -> Response:
    catalog = _catalog(resource)
    access.token()
    return _answer(catalog, _found(catalog, record_id))


def create_catalog(resource: str) -> Response:
    catalog = _catalog(resource)
    _writer(catalog)
    values = values_of(catalog, record_body(), partial=False)
    _check_name_free(catalog, values)
    # As the importer makes one (`engine._new_document`): no empty keys, the stamps.
    document = {"_id": ObjectId(), **{k: v for k, v in values.items() if v is not None},
                "archived": bool(values.get("archived", False)), "updated_at": now()}
    try:
        catalog.collection.insert_one(document)
    except DuplicateKeyError as exc:  # the same Name, saved a moment ago elsewhere
        raise _name_taken(catalog, values["name"]) from exc
    stored = _found(catalog, str(document["_id"]))
    location = url_for(f".read_{resource}", record_id=str(document["_id"]))
    return _answer(catalog, stored, 201, Location=location)


def _asked(catalog: Catalog, document: t.Mapping[str, t.Any]) -> None:
    asked = request.headers.get("If-Match")
    if not asked:
        raise Problem(428, "if-match-required", "Send the ETag you last read as If-Match, so "
                                                "that this change cannot overwrite one you "
                                                "have not seen.")
    current = etag(catalog, document)
    if asked.strip() not in (current, "W/" + current):
        raise Problem(412, "stale", f"The {catalog.singular} has changed since you read it: "
                                    f"read it again and make your change to what it holds "
                                    f"now.", headers={"ETag": current})


def change_catalog(resource: str, record_id: str) -> Response:
    catalog = _catalog(resource)
    _writer(catalog)
    document = _found(catalog, record_id)
    _asked(catalog, document)
    values = values_of(catalog, record_body(), partial=True)
    changed = {k: v for k, v in values.items() if document.get(k) != v}
    if not changed:
        return _answer(catalog, document)
    _check_name_free(catalog, changed, document["_id"])
    try:
        result = catalog.collection.update_one(
            {"_id": document["_id"], **_compared(catalog, document)},
            {"$set": {**changed, "updated_at": now()}})
    except DuplicateKeyError as exc:
        raise _name_taken(catalog, changed["name"]) from exc
    current = _found(catalog, record_id)
    if result.matched_count != 1:
        raise Problem(412, "stale", f"The {catalog.singular} changed while this change was "
                                    f"made: read it again and make your change to what it "
                                    f"holds now.", headers={"ETag": etag(catalog, current)})
    return _answer(catalog, current)


def no_delete(resource: str, record_id: str) -> Response:
    catalog = _catalog(resource)
    raise Problem(405, "no-delete", f"A {catalog.singular} is never deleted: archive it with "
                                    f"PATCH /api/v1/{resource}/{record_id} and the body "
                                    f'{{"archived": true}}.', headers={"Allow": "GET, PATCH"})


def _register() -> None:
    """Static paths (/contracts, /slas): they win over records_api's /<resource>."""
    for resource in CATALOGS:
        defaults = {"resource": resource}
        bp.add_url_rule(f"/{resource}", f"list_{resource}", list_catalog,
                        methods=["GET"], defaults=defaults)
        bp.add_url_rule(f"/{resource}", f"create_{resource}", create_catalog,
                        methods=["POST"], defaults=defaults)
        bp.add_url_rule(f"/{resource}/<record_id>", f"read_{resource}", read_catalog,
                        methods=["GET"], defaults=defaults)
        bp.add_url_rule(f"/{resource}/<record_id>", f"change_{resource}", change_catalog,
                        methods=["PATCH"], defaults=defaults)
        bp.add_url_rule(f"/{resource}/<record_id>", f"delete_{resource}", no_delete,
                        methods=["DELETE"], defaults=defaults)


_register()


# -- the description (OpenAPI) -------------------------------------------------------------

def _value_schema(catalog: Catalog, name: str, schema_field: mf.Field) -> dict[str, t.Any]:
    """A field of the file schema as JSON Schema, read from the schema itself (its type,
    its Length and Range validators), so the description follows the rules in force."""
    schema: dict[str, t.Any] = {"title": catalog.label(name)}
    if isinstance(schema_field, mf.Boolean):
        schema["type"] = "boolean"
    elif isinstance(schema_field, mf.Integer):
        schema["type"] = "integer"
    elif isinstance(schema_field, mf.Date):
        schema.update(type="string", format="date")
    else:
        schema["type"] = "string"
    for validator in schema_field.validators:
        if isinstance(validator, validate.Length):
            if validator.min:
                schema["minLength"] = validator.min
            if validator.max is not None:
                schema["maxLength"] = validator.max
        elif isinstance(validator, validate.Range):
            if validator.min is not None:
                schema["minimum"] = validator.min
            if validator.max is not None:
                schema["maximum"] = validator.max
    if schema_field.allow_none:
        schema["type"] = [schema["type"], "null"]
    return schema


def _schemas(catalog: Catalog, name: str) -> dict[str, dict[str, t.Any]]:
    fields = catalog.schema.fields
    writable = {n: _value_schema(catalog, n, f) for n, f in fields.items()}
    required = [n for n, f in fields.items() if f.required]
    # What is stored is answered as it is: the shape, not the rules.
    shown = {n: {k: v for k, v in s.items()
                 if k not in ("minLength", "maxLength", "minimum", "maximum")}
             for n, s in writable.items()}
    return {
        name: {"type": "object", "title": catalog.singular,
               "required": ["id", *fields, "updated_at"], "additionalProperties": False,
               "properties": {
                   "id": {"type": "string", "readOnly": True, "title": "Id"},
                   **shown,
                   "updated_at": {"type": ["string", "null"], "format": "date-time",
                                  "readOnly": True, "title": "Updated at",
                                  "description": "When it last changed (UTC)."}}},
        f"{name}Create": {"type": "object", "title": f"A new {catalog.singular}",
                          "description": "Checked as a seed file's entry is, with the same "
                                         "messages.",
                          "required": required, "properties": writable,
                          "additionalProperties": False},
        f"{name}Patch": {"type": "object", "title": f"A change to a {catalog.singular}",
                         "description": "Only the fields sent change; archived: true "
                                        "archives it.",
                         "properties": writable, "additionalProperties": False},
        f"{name}List": {"type": "object", "required": ["items"],
                        "additionalProperties": False,
                        "properties": {"items": {"type": "array", "items": spec.ref(name)}}},
    }


def _catalog_paths(catalog: Catalog, name: str) -> dict[str, t.Any]:
    one, tags = catalog.singular, [catalog.resource]
    etag_header = spec.header("A digest of what it holds: send it back as If-Match to "
                              "change it.")
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": f"The {one}'s id."}

    def answer(words: str, **headers: t.Any) -> dict[str, t.Any]:
        return {"description": words, "headers": {"ETag": etag_header, **headers},
                "content": spec.json_content(spec.ref(name))}

    return {
        f"/{catalog.resource}": {
            "get": {"operationId": f"list{name}s", "tags": tags, "summary": f"List {one}s",
                    "description": "By name, a page at a time: follow the Link header.",
                    "parameters": [
                        {"name": "archived", "in": "query", "required": False,
                         "description": "true: only archived ones; false: only current "
                                        "ones (default: both).",
                         "schema": {"type": "string", "enum": ["true", "false"]}},
                        *spec.paging_parameters(LONGEST_PAGE, PAGE)],
                    "responses": {"200": {
                        "description": f"A page of {one}s.",
                        "headers": {"Link": spec.header('The next page: <URL>; rel="next".')},
                        "content": spec.json_content(spec.ref(f"{name}List"))},
                        **spec.errors(400, 401, 429)}},
            "post": {"operationId": f"create{name}", "tags": tags,
                     "summary": f"Create a {one}",
                     "requestBody": {"required": True, "content": spec.json_content(
                         spec.ref(f"{name}Create"))},
                     "responses": {
                         "201": answer(f"The {one} as saved.", Location=spec.header(
                             f"Where the new {one} is read.")),
                         **spec.errors(400, 401, 403, 413, 415, 422, 429)}},
        },
        f"/{catalog.resource}/{{id}}": {
            "parameters": [ident],
            "get": {"operationId": f"read{name}", "tags": tags, "summary": f"Read a {one}",
                    "responses": {"200": answer(f"The {one}."), **spec.errors(401, 404, 429)}},
            "patch": {"operationId": f"change{name}", "tags": tags,
                      "summary": f"Change a {one}",
                      "description": "Send the ETag you last read as If-Match: if it changed "
                                     "since, nothing is saved (412).",
                      "parameters": [{"name": "If-Match", "in": "header", "required": True,
                                      "schema": {"type": "string"},
                                      "description": f"The ETag of the {one} as you read "
                                                     f"it."}],
                      "requestBody": {"required": True, "content": spec.json_content(
                          spec.ref(f"{name}Patch"))},
                      "responses": {
                          "200": answer(f"The {one} as changed."),
                          "412": spec.problem(f"The {one} changed since that ETag: nothing "
                                              f"was saved.",
                                              ETag=spec.header(f"The {one}'s ETag now.")),
                          "428": spec.problem("If-Match was not sent."),
                          **spec.errors(400, 401, 403, 404, 413, 415, 422, 429)}},
            "delete": {"operationId": f"delete{name}", "tags": tags,
                       "summary": f"{name}s are never deleted",
                       "description": "Answers 405: archive it with a PATCH instead.",
                       "responses": {"405": spec.problem(
                           f"A {one} is never deleted.",
                           Allow=spec.header("The methods the address takes.")),
                           "default": spec.ref("Error", "responses")}},
        },
    }


@spec.provider
def paths(snapshot: t.Any) -> spec.Contribution:
    """Contracts and SLAs in the API's description (their shape is fixed in code, so the
    snapshot is not read)."""
    contribution: spec.Contribution = {"paths": {}, "components": {"schemas": {}}, "tags": []}
    for catalog, name, words in ((CATALOGS["contracts"], "Contract", "Contracts customers "
                                  "are on (a record's Contract field names one)."),
                                 (CATALOGS["slas"], "SLA", "Service Level Agreements: "
                                  "response and resolution hours for tickets.")):
        contribution["paths"].update(_catalog_paths(catalog, name))
        contribution["components"]["schemas"].update(_schemas(catalog, name))
        contribution["tags"].append({"name": catalog.resource, "description": words})
    return contribution

"""The API's OpenAPI 3.1 description, built from the live dictionary.

How apispec is used: apispec (the well-kept OpenAPI generator, usually fed Marshmallow
schemas) writes the frame, `APISpec(openapi_version="3.1.0")`: `openapi`, `info`,
`servers`, `security`, the tags, and the shared components (the Problem schema, the
standard error responses, the bearer security scheme). The resources' schemas and paths
are added to its output as they are, checked for two of one name as apispec checks: its
deep copies of them were 60% of the build. The schemas are not Marshmallow classes: a
record's fields exist only in the dictionary, so they are written as JSON Schema
(OpenAPI 3.1 uses JSON Schema 2020-12 as it is) from each field's type in the registry
(`field.kind.json_schema(field)`), and refer to components with `ref`. This module names
no field type.

What goes in comes from "path providers": functions of the dictionary snapshot that
return paths (under `/api/v1`) and components. A resource module describes its own
routes and adds itself with `@spec.provider` (customers and contacts:
`records_spec.py`), so the description of a route lives beside the route, and a new
resource needs no change here.

The document is built once per dictionary version (a snapshot memo) and served with an
ETag made from its content: a dictionary change shows in the next request's document,
in every worker, because every worker compares the stored version on each request.
"""

from __future__ import annotations

import hashlib
import typing as t
from dataclasses import dataclass

import orjson
from apispec import APISpec

from ..dictionary import Field, Snapshot
from .blueprint import bp
from .problems import MEDIA_TYPE, TITLES

PREFIX = bp.url_prefix or "/api/v1"
TITLE = "Dictadmin API"
JSON = "application/json"


class Contribution(t.TypedDict, total=False):
    """What a path provider adds: `paths` maps a path under /api/v1 (such as
    "/customers/{id}") to its OpenAPI path item; `components` maps a kind of component
    ("schemas", "responses", "parameters", "headers") to named objects. A schema,
    response or header may be given by its component's name in place of the object.
    `tags` are OpenAPI tag objects (a name and a description) for its operations."""

    paths: dict[str, dict[str, t.Any]]
    components: dict[str, dict[str, dict[str, t.Any]]]
    tags: list[dict[str, t.Any]]


Provider = t.Callable[[Snapshot], Contribution]
PROVIDERS: list[Provider] = []


def provider(describe: Provider) -> Provider:
    """Decorator: add a resource's description to the document (imported once, in the
    module that serves the resource or beside it)."""
    if describe not in PROVIDERS:
        PROVIDERS.append(describe)
    return describe


# -- shared pieces, for every provider ---------------------------------------------------

def ref(name: str, kind: str = "schemas") -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def json_content(schema: t.Any) -> dict[str, t.Any]:
    """A body of JSON: `schema` is a schema object or a component's name."""
    return {JSON: {"schema": schema}}


def header(description: str, schema: dict[str, t.Any] | None = None,
           required: bool = False) -> dict[str, t.Any]:
    return {"description": description, "schema": schema or {"type": "string"},
            **({"required": True} if required else {})}


def problem(description: str, **headers: dict[str, t.Any]) -> dict[str, t.Any]:
    """A response that is a problem document (RFC 9457), with its own words."""
    answer: dict[str, t.Any] = {"description": description,
                                "content": {MEDIA_TYPE: {"schema": ref("Problem")}}}
    if headers:
        answer["headers"] = {name.replace("_", "-"): value for name, value in headers.items()}
    return answer


# The standard error answers, as components: `errors(401, 404)` names them for a path.
STANDARD_ERRORS: dict[int, str] = {
    400: "BadRequest", 401: "Unauthorised", 403: "ReadOnlyToken", 404: "NotFound",
    413: "TooLarge", 415: "UnsupportedMediaType", 422: "Refused", 429: "TooManyRequests",
}


def errors(*statuses: int) -> dict[str, t.Any]:
    """Responses for these statuses (standard ones by reference) plus `default`: any
    other error, a crash included, is a problem document too."""
    found: dict[str, t.Any] = {str(status): ref(STANDARD_ERRORS[status], "responses")
                               for status in statuses}
    found["default"] = ref("Error", "responses")
    return found


def _standard_responses() -> dict[str, dict[str, t.Any]]:
    retry = header("Seconds to wait before the next request.", {"type": "integer"})
    return {
        "BadRequest": problem("The request could not be used (a body that is not JSON or "
                              "not an object, nesting too deep, an argument out of range); "
                              "the detail says which."),
        "Unauthorised": problem("No valid API token: none was sent, or it is unknown, "
                                "expired or revoked.",
                                WWW_Authenticate=header("The bearer challenge.")),
        "ReadOnlyToken": problem("The token may only read."),
        "NotFound": problem("There is no such record."),
        "TooLarge": problem("The body is larger than the server accepts."),
        "UnsupportedMediaType": problem("The body was not sent as application/json."),
        "Refused": problem("Nothing was saved: `errors` names every field refused, with its "
                           "current label, a stable code and the form's message."),
        "TooManyRequests": problem("Too many requests with this token: wait as Retry-After "
                                   "says.", Retry_After=retry),
        "Error": problem("Any other error (a method the address does not take, a server "
                         "error): a problem document whose detail says what happened."),
    }


PROBLEM_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An error, as RFC 9457 describes it: `type` names the kind of problem "
                   "(stable, for programs), `detail` says it to a person.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri",
                 "description": "urn:dictadmin:problem:<kind>, such as "
                                "urn:dictadmin:problem:validation."},
        "title": {"type": "string", "description": "The status, in words."},
        "status": {"type": "integer", "enum": sorted(set(TITLES) | {405, 507})},
        "detail": {"type": "string", "description": "What went wrong, as a sentence."},
        "errors": {"type": "array", "items": ref("FieldError"),
                   "description": "One entry per field refused (422)."},
    },
}
FIELD_ERROR_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "title": "A refused field",
    "required": ["field", "label", "code", "message"],
    "additionalProperties": False,
    "properties": {
        "field": {"type": "string", "description": "The field's name, as the JSON has it."},
        "label": {"type": "string", "description": "Its current label."},
        "code": {"type": "string", "description": "Which rule it broke, stable for programs: "
                 "mandatory, invalid, too_long, pattern, out_of_range, not_a_choice, "
                 "repeated, not_found, read_only, unknown_field."},
        "message": {"type": "string", "description": "The message the form gives."},
        "rule": {"type": "string", "description": "The conditional rule that refused the "
                 "field (mandatory, read-only or its choices narrowed while the rule's "
                 "condition holds), by its name; absent when no rule did."},
    },
}


# -- words from the dictionary in descriptions ---------------------------------------------

# OpenAPI reads `description` as CommonMark, so an admin's words put in one (a help text,
# a label, an entity's words) would be read as markup: `<b>` as HTML, `*x*` as emphasis.
# A backslash before these characters keeps them as the text they are. (`title` and
# `summary` are plain text and need nothing.)
_MARKUP = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|~&!"})


def paging_parameters(longest: int, page: int) -> list[dict[str, t.Any]]:
    """A cursor-paged list's `limit` and `after`."""
    return [{"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": longest, "default": page}},
            {"name": "after", "in": "query", "required": False,
             "description": "The cursor in the Link header's next URL.",
             "schema": {"type": "string"}}]


def plain(text: str) -> str:
    """Words from the dictionary as CommonMark that reads exactly as those words."""
    return text.translate(_MARKUP)


# -- a dictionary field as JSON Schema -----------------------------------------------------

# What a schema says of a value's shape; everything else of it is a rule.
_SHAPE = frozenset({"type", "format", "items", "description", "contentMediaType"})


def mandatory_everywhere(field: Field, levels: t.Iterable[str]) -> bool:
    """Whether no record of any Level may be saved without a value: a field whose type
    always has one (a tick box) is never mandatory, as the rulebook says."""
    names = frozenset(levels)
    return bool(names) and not field.kind.always_set and names <= field.mandatory


def value_schema(field: Field, *, nullable: bool, rules: bool = True) -> dict[str, t.Any]:
    """A field's value: its label as the title, its help as the description, and its
    type's JSON Schema (choices as an enum, a pattern, a length, a range…), from the
    registry. Without `rules`, only the shape (type and format): what a stored value
    has, since a value saved before a rule changed keeps it until it is next saved."""
    kind = field.kind
    typed = kind.json_schema(field)  # a new dict each time: ours to change
    if not rules:
        typed = _shape_of(typed)
    help_text = field.help_text.strip() if field.help_text else ""
    words = [plain(help_text)] if help_text else []
    said = typed.pop("description", None)
    if said:
        words.append(plain(said))
    if rules and kind.ranged and (field.minimum is not None or field.maximum is not None) \
            and "minimum" not in typed and "maximum" not in typed:
        words.append(plain(field.range_message()))  # a range JSON Schema cannot say (dates)
    schema = {"title": field.label}
    schema.update(typed)
    if words:
        schema["description"] = " ".join(words)
    if kind.is_reference:
        schema["x-dictadmin-target"] = field.target
    if nullable:
        schema = _nullable(schema)
    return schema


def _shape_of(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    shape = {k: v for k, v in schema.items() if k in _SHAPE}
    if isinstance(shape.get("items"), dict):
        shape["items"] = _shape_of(shape["items"])
    return shape


def _nullable(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """JSON Schema 2020-12's way to allow null: add it to the types (an enum lists it
    too, or the enum would still refuse it)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


# -- the document ----------------------------------------------------------------------------

def _describe_itself(snapshot: Snapshot) -> Contribution:
    return {"paths": {"/openapi.json": {"get": {
        "operationId": "describeApi",
        "summary": "This description",
        "description": "The API as the dictionary says it now (OpenAPI 3.1). info.version "
                       "is the dictionary's version; send the ETag back as If-None-Match "
                       "to be told 304 while nothing changed. A signed-in admin or agent "
                       "may read it too (the admin's API page).",
        "tags": ["description"],
        "parameters": [{"name": "If-None-Match", "in": "header", "required": False,
                        "schema": {"type": "string"},
                        "description": "The ETag of the description you hold."}],
        "responses": {
            "200": {"description": "The description.",
                    "headers": {"ETag": header("Changes whenever the description does.")},
                    "content": json_content({"type": "object"})},
            "304": {"description": "The description has not changed since that ETag.",
                    "headers": {"ETag": header("The same ETag.")}},
            **errors(401, 429)}}}}}


def build(snapshot: Snapshot) -> dict[str, t.Any]:
    """The description for this dictionary, as a JSON-ready dict (built afresh)."""
    spec = APISpec(
        title=TITLE, version=str(snapshot.version), openapi_version="3.1.0",
        info={"description": "Records as JSON, generated from the live data dictionary: "
                             "every field, label, help text, choice, pattern, length, range "
                             "and mandatory Level below is the dictionary's as of version "
                             f"{snapshot.version}. Errors are RFC 9457 problem documents. "
                             "Send an API token as 'Authorization: Bearer <token>' (an admin "
                             "makes one under Access, or with 'flask token create')."},
        servers=[{"url": PREFIX}],
        security=[{"bearer": []}],
    )
    spec.tag({"name": "description", "description": "This document."})
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "An API token: Authorization: Bearer <token>."})
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    spec.components.schema("FieldError", FIELD_ERROR_SCHEMA)
    for name, response in _standard_responses().items():
        spec.components.response(name, response)
    contributions = [describe(snapshot) for describe in [_describe_itself, *PROVIDERS]]
    for contribution in contributions:
        for tag in contribution.get("tags", []):
            spec.tag(tag)
    document = spec.to_dict()
    # The resources' schemas and paths go in as they are: apispec deep-copies whatever it
    # is given, which was 60% of the build for a dictionary of 200 fields, and these are
    # made afresh for each build, refer to components by `ref`, and are checked here for
    # two of one name as apispec would.
    components, paths = document.setdefault("components", {}), document.setdefault("paths", {})
    for contribution in contributions:
        for kind, named in contribution.get("components", {}).items():
            held = components.setdefault(kind, {})
            for name, value in named.items():
                if name in held:
                    raise ValueError(f"Two {kind} components are named {name!r}.")
                held[name] = value
        for path, item in contribution.get("paths", {}).items():
            if path in paths:
                raise ValueError(f"Two resources describe the path {path!r}.")
            paths[path] = item
    return document


@dataclass(frozen=True)
class Described:
    """The document of one dictionary version, ready to send."""

    document: dict[str, t.Any]
    body: bytes
    etag: str  # unquoted


def described(snapshot: Snapshot) -> Described:
    """The description of this snapshot's version, built once per version."""
    return snapshot.memo(("openapi description",), lambda: described_afresh(snapshot))


def described_afresh(snapshot: Snapshot) -> Described:
    """The description built, encoded and tagged now (what `described` keeps)."""
    document = build(snapshot)
    body = orjson.dumps(document)  # compact UTF-8, as json.dumps would write it, 10x faster
    digest = hashlib.sha256(body).hexdigest()[:20]
    # The content's digest, not the version alone: a new release describing the same
    # dictionary differently must not be answered 304.
    return Described(document, body, f"v{snapshot.version}-{digest}")

"""The description of customers and contacts (`records_api.py`) in the API's document.

Written from the snapshot each time the dictionary moves (`spec.described` keeps it for
the version), so every live field of an entity is in its schemas with its current label,
help, type, choices, pattern, length, range, reference and mandatory Levels, and a
retired field is in none.

Three schemas per entity, because a record read and a record sent are held to different
things:

- the record (`Customer`), as every answer gives it: id, revision and the Archive flag
  (read-only), then each live field, null when it holds no value. It says each value's
  type and format but not the rules: a value saved before an admin changed a rule (a
  choice removed, a pattern or range tightened, a field made mandatory) is kept until the
  record is next saved, and the description must not call that answer wrong;
- what a create sends (`CustomerCreate`): the writable fields with every rule, null
  refused for a field mandatory on every Level, and which fields each Level needs as
  JSON Schema `if`/`then` on `level` (a record without a level is at the first Level,
  as the write path reads it);
- what a PATCH sends (`CustomerPatch`): any of the writable fields, with their rules.

Conditional rules (`dictionary/conditional`) are said where JSON Schema can say them: a
rule that makes fields mandatory is an `if` (its condition) / `then` (those fields
required, not null) in the create schema, and a field a rule may hide is mandatory only
while no rule hides it, as the write path reads it. `before` / `after` compare dates,
which JSON Schema cannot: such a rule is named in the schema's description instead.
What rules lock, hide, show or narrow is said in words in each field's description.
"""

from __future__ import annotations

import typing as t

from ..dictionary import Field, Snapshot, conditional
from ..dictionary.conditional.evaluator import compiled
from ..dictionary.conditional.shape import Combination, Comparison, Condition
from . import filters, spec
from .records_api import LONGEST_PAGE, NATURAL_KEYS, PAGE, RESOURCES, SET_BY_DICTADMIN

# What a record's representation holds besides its fields; never sent by a client.
READ_ONLY = (*SET_BY_DICTADMIN, "archived")
LEVEL = "level"  # the field holding a record's Level (records.write.level_of reads it)


def component(entity: str, kind: str = "") -> str:
    """A schema's name: Customer, CustomerCreate, ContactPatch…"""
    return entity.capitalize() + kind


def _writable(snapshot: Snapshot, entity: str) -> list[Field]:
    return [f for f in snapshot.live_fields(entity) if f.name not in READ_ONLY]


def _levels(snapshot: Snapshot, entity: str) -> list[str]:
    return [level.name for level in snapshot.entity(entity).levels]


def _mandatory_on(field: Field, levels: list[str]) -> list[str]:
    return [] if field.kind.always_set else [lv for lv in levels if field.is_mandatory(lv)]


# -- schemas --------------------------------------------------------------------------------

def record_schema(snapshot: Snapshot, entity: str) -> dict[str, t.Any]:
    words = snapshot.entity(entity)
    levels = _levels(snapshot, entity)
    fields = {f.name: f for f in snapshot.live_fields(entity)}
    archived = fields.get("archived")
    properties: dict[str, t.Any] = {
        "id": {"type": "string", "title": "Id", "readOnly": True,
               "description": "The record's id: its address is /api/v1/<resource>/<id>."},
        "revision": {"type": "integer", "minimum": 0, "title": "Revision", "readOnly": True,
                     "description": "Moves on every change; the ETag is made from it."},
        "archived": {"type": "boolean", "readOnly": True,
                     "title": archived.label if archived else "Archived",
                     "description": "Archived records are on the Archived tab; change this "
                                    "with the archive and restore actions."},
    }
    for field in fields.values():
        if field.name in properties:
            continue
        schema = spec.value_schema(field, nullable=True, rules=False)
        mandatory = _mandatory_on(field, levels)
        if mandatory:
            schema["x-dictadmin-mandatory"] = mandatory
        properties[field.name] = schema
    return {
        "type": "object", "title": words.singular,
        "description": f"A {spec.plain(words.singular)} as the API answers it: every live "
                       f"field, null when it holds no value, or those `fields=` asked for. "
                       f"Values are "
                       f"as they were saved: "
                       f"one saved before a rule changed keeps it until the record is next "
                       f"saved, so the rules are in {component(entity, 'Create')}.",
        "required": list(READ_ONLY),
        "properties": properties,
        "additionalProperties": False,
    }


def create_schema(snapshot: Snapshot, entity: str,
                  properties: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """`properties`: the patch schema's, which are the same values (given, they are not
    made twice)."""
    words = snapshot.entity(entity)
    levels = _levels(snapshot, entity)
    writable = _writable(snapshot, entity)
    ruled = _Rules(snapshot, entity)
    everywhere = [f.name for f in writable if spec.mandatory_everywhere(f, levels)
                  and not ruled.may_hide(f.name)]
    description = (f"The values of a new {spec.plain(words.singular)}: any writable field; "
                   f"those mandatory on its Level must have a value. Nothing is saved "
                   f"unless every value is accepted.")
    schema: dict[str, t.Any] = {
        "type": "object", "title": f"A new {words.singular}",
        "properties": properties if properties is not None else {
            f.name: spec.value_schema(f, nullable=f.name not in everywhere) for f in writable},
        "additionalProperties": False,
    }
    if everywhere:
        schema["required"] = everywhere
    conditions = _per_level(snapshot, entity, writable, everywhere, ruled)
    conditions += ruled.mandatory_when({f.name for f in writable})
    if ruled.unsaid:
        description += (" Also mandatory, by rules that compare dates (which this "
                        "schema cannot say): " + " ".join(ruled.unsaid))
    schema["description"] = description
    if conditions:
        schema["allOf"] = conditions
    return schema


def _per_level(snapshot: Snapshot, entity: str, writable: list[Field],
               everywhere: list[str], ruled: _Rules) -> list[dict[str, t.Any]]:
    """The fields each Level needs beyond those every Level needs, as `if`/`then` on the
    level; when the entity has no level field, its only (first) Level's needs are plain
    `required`. A field a rule may hide is needed only while no rule hides it."""
    levels = _levels(snapshot, entity)
    if not levels:
        return []
    needs = {level: [f.name for f in writable if f.name not in everywhere
                     and level in _mandatory_on(f, levels) and not ruled.may_hide(f.name)]
             for level in levels}
    hideable = [f for f in writable if f.name not in everywhere and ruled.may_hide(f.name)
                and _mandatory_on(f, levels)]
    conditions = []
    level_field = LEVEL in {f.name for f in writable}
    if not level_field:
        if needs[levels[0]]:
            conditions.append(_needing(needs[levels[0]]))
    else:
        conditions = [{"if": _on_level(level), "then": _needing(names)}
                      for level, names in needs.items() if names]
        if LEVEL not in everywhere and needs[levels[0]]:
            # No level sent: the record is at the first Level, and needs what it needs.
            conditions.append({"if": {"not": {"required": [LEVEL]}},
                               "then": _needing(needs[levels[0]])})
    for field in hideable:
        on = _mandatory_on(field, levels)
        if set(on) == set(levels) or (not level_field and levels[0] in on):
            conditions += ruled.needing_unless_hidden(None, [field.name])
        elif level_field:
            conditions += ruled.needing_unless_hidden(
                ruled.said(Comparison(LEVEL, "one_of", on)), [field.name],
                f"at Level {', '.join(on)}")
    return conditions


def _on_level(level: str) -> dict[str, t.Any]:
    return {"properties": {LEVEL: {"const": level}}, "required": [LEVEL]}


def _needing(names: list[str]) -> dict[str, t.Any]:
    return {"required": names,
            "properties": {name: {"not": {"type": "null"}} for name in names}}


# -- conditional rules -------------------------------------------------------------------

# The JSON values that are no value: the write path reads null, "" and [] as empty.
_EMPTY: dict[str, t.Any] = {"enum": [None, "", []]}
_NEVER: dict[str, t.Any] = {"not": {}}


class _Unsaid(Exception):
    """A condition JSON Schema cannot say (a date compared before or after another)."""


class _Rules:
    """An entity's live conditional rules, said as JSON Schema (`said`: a condition as a
    schema that a create's body meets exactly when the rule's condition holds for the
    record it makes) and in words. `unsaid`: sentences for the mandatory rules that
    JSON Schema cannot say."""

    def __init__(self, snapshot: Snapshot, entity: str) -> None:
        rules = compiled(snapshot, entity)
        self.rules, self.fields = rules.rules, rules.fields
        levels = _levels(snapshot, entity)
        # A record without a Level is at the first, as the evaluator reads it.
        self.first_level = levels[0] if levels and LEVEL in self.fields else None
        self.unsaid: list[str] = []

    def may_hide(self, name: str) -> bool:
        return any(name in r.then.hide or name in r.then.show for r in self.rules)

    def said(self, condition: Condition) -> dict[str, t.Any]:
        if isinstance(condition, Combination):
            parts = [self.said(p) for p in condition.parts]
            if condition.op == "not":
                return {"not": parts[0]}
            if len(parts) == 1:
                return parts[0]
            return {"allOf" if condition.op == "all" else "anyOf": parts}
        return self._comparison(condition)

    def _comparison(self, c: Comparison) -> dict[str, t.Any]:
        if c.op in ("before", "after"):
            raise _Unsaid(c.field)
        name, field = c.field, self.fields.get(c.field)
        kind = field.kind if field is not None else None
        # The value an absent or empty field counts as: the first Level, a tick box's No.
        default = self.first_level if name == LEVEL else \
            False if kind is not None and kind.always_set else None
        if c.op == "empty":
            if default is not None:
                return _NEVER if c.value else {}
            if c.value:
                return {"properties": {name: _EMPTY}}
            return {"required": [name], "properties": {name: {"not": _EMPTY}}}
        wanted = list(c.value) if c.op == "one_of" else [c.value]
        one = {"const": wanted[0]} if len(wanted) == 1 else {"enum": wanted}
        if kind is not None and kind.widget.multiple:  # equals: includes
            return {"required": [name],
                    "properties": {name: {"type": "array", "contains": one}}}
        if default is not None and any(isinstance(w, bool) is isinstance(default, bool)
                                       and w == default for w in wanted):
            # Absent, null or "" is the default, which the comparison takes.
            return {"properties": {name: {"enum": [*wanted, None, ""]}}}
        return {"required": [name], "properties": {name: one}}

    def hidden(self, name: str) -> dict[str, t.Any]:
        """When a rule hides the field (one that `may_hide` it): a holding `hide`, or a
        `show` that names it while none holds."""
        parts = [self.said(r.when) for r in self.rules if name in r.then.hide]
        showing = [self.said(r.when) for r in self.rules if name in r.then.show]
        if showing:
            parts.append({"not": showing[0] if len(showing) == 1 else {"anyOf": showing}})
        return parts[0] if len(parts) == 1 else {"anyOf": parts}

    def needing_unless_hidden(self, when: dict[str, t.Any] | None, names: list[str],
                              why: str = "") -> list[dict[str, t.Any]]:
        """`names` needed while `when` holds (None: always) and no rule hides them: one
        `if`/`then` for those no rule hides, one for each of the others. `why`: `when`
        in words, for a field whose hiding rules JSON Schema cannot say."""
        found = []
        plain = [n for n in names if not self.may_hide(n)]
        if plain:
            found.append({"if": when, "then": _needing(plain)} if when is not None
                         else _needing(plain))
        for name in names:
            if name in plain:
                continue
            try:
                shown = {"not": self.hidden(name)}
            except _Unsaid:
                self.unsaid.append(spec.plain(" ".join(filter(None, (
                    self.fields[name].label, why, "unless a rule hides it.")))))
                continue
            found.append({"if": shown if when is None else {"allOf": [when, shown]},
                          "then": _needing([name])})
        return found

    def mandatory_when(self, writable: set[str]) -> list[dict[str, t.Any]]:
        """One `if`/`then` per rule that makes writable fields mandatory (and per field
        a rule may hide); the rules JSON Schema cannot say go to `unsaid`."""
        found = []
        for rule in self.rules:
            names = [n for n in rule.then.mandatory if n in writable
                     and not self.fields[n].kind.always_set]
            if not names:
                continue
            why = f"when {conditional.words(rule.when, self.fields)} (rule {rule.name})"
            try:
                found.extend(self.needing_unless_hidden(self.said(rule.when), names, why))
            except _Unsaid:
                labels = ", ".join(self.fields[n].label for n in names)
                self.unsaid.append(spec.plain(f"{labels} {why}."))
        return found

    def words(self, name: str) -> str:
        """What the rules do to one field, in words, for its description."""
        said = []
        for rule in self.rules:
            then = rule.then
            what = [w for w, named in (("Mandatory", then.mandatory), ("Read-only",
                    then.read_only), ("Hidden", then.hide), ("Shown only", then.show))
                    if name in named]
            what += [f"Only {', '.join(allowed)}" for n, allowed in then.choices if n == name]
            for each in what:
                said.append(f"{each} when {conditional.words(rule.when, self.fields)} "
                            f"(rule {rule.name}).")
        if any(name in r.then.hide or name in r.then.show for r in self.rules):
            said.append("A hidden field is never mandatory and keeps its value.")
        return spec.plain(" ".join(said))


def patch_schema(snapshot: Snapshot, entity: str) -> dict[str, t.Any]:
    words = snapshot.entity(entity)
    levels = _levels(snapshot, entity)
    ruled = _Rules(snapshot, entity)
    properties = {}
    for field in _writable(snapshot, entity):
        schema = spec.value_schema(field, nullable=not spec.mandatory_everywhere(
            field, levels) or ruled.may_hide(field.name))
        said = ruled.words(field.name)
        if said:
            schema["description"] = " ".join(filter(None, (schema.get("description"), said)))
        properties[field.name] = schema
    return {
        "type": "object", "title": f"A change to a {words.singular}",
        "description": "Only the fields sent change; null empties a field (refused for one "
                       "the record's Level needs)."
                       + (" A field a rule makes read-only cannot be changed while the "
                          "rule holds." if any(r.then.read_only for r in ruled.rules) else ""),
        "properties": properties,
        "additionalProperties": False,
    }


# -- paths --------------------------------------------------------------------------------------

ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
      "description": "The record's id (its `id`, or the end of the Location of a create)."}
ETAG = spec.header("The record's revision as an entity tag: send it back as If-Match to "
                   "change the record.")


def _record_answer(entity: str, description: str) -> dict[str, t.Any]:
    return {"description": description, "headers": {"ETag": ETAG},
            "content": spec.json_content(spec.ref(component(entity)))}


def _list_parameters(snapshot: Snapshot, entity: str) -> list[dict[str, t.Any]]:
    """What `filters.list_query` reads (its module describes its own arguments), then
    the list's paging and `fields`, unless filters.py describes those too."""
    parameters = filters.list_parameters(entity, snapshot)
    given = {parameter["name"] for parameter in parameters}
    names = ["id", "revision", "archived", *(f.name for f in snapshot.live_fields(entity)
                                             if f.name not in READ_ONLY)]
    own = [
        {"name": "limit", "in": "query", "required": False,
         "description": f"Records per page (default {PAGE}).",
         "schema": {"type": "integer", "minimum": 1, "maximum": LONGEST_PAGE,
                    "default": PAGE}},
        {"name": "after", "in": "query", "required": False,
         "description": "Where the page starts: the cursor in the Link header's next URL "
                        "(follow that URL rather than building one).",
         "schema": {"type": "string"}},
        {"name": "fields", "in": "query", "required": False, "style": "form",
         "explode": False,
         "description": "Only these fields in each record, separated by commas (id, "
                        "revision and archived always come).",
         "schema": {"type": "array", "items": {"type": "string", "enum": names}}},
    ]
    return [*parameters, *(p for p in own if p["name"] not in given)]


def _lookup_parameters(snapshot: Snapshot, entity: str) -> list[dict[str, t.Any]]:
    keys = list(dict.fromkeys(key for keys in NATURAL_KEYS[entity] for key in keys))
    ways = " or ".join(" and ".join(keys) for keys in NATURAL_KEYS[entity])
    fields = {f.name: f for f in snapshot.live_fields(entity)}
    parameters = []
    for key in keys:
        field = fields.get(key)
        schema: dict[str, t.Any] = {"type": "string"}
        if key == LEVEL:
            schema["enum"] = _levels(snapshot, entity)
        parameters.append({"name": key, "in": "query", "required": False, "schema": schema,
                           "description": spec.plain(f"{field.label if field else key}: "
                                                     f"give {ways}.")})
    return parameters


def resource_paths(snapshot: Snapshot, resource: str, entity: str) -> dict[str, t.Any]:
    words = snapshot.entity(entity)
    one, many = words.singular, words.plural  # plain text, for summaries
    one_d, many_d = spec.plain(one), spec.plain(many)  # CommonMark, for descriptions
    tags = [resource]
    listed = {"description": f"A page of {many_d}.",
              "headers": {"Link": spec.header('The next page, when there is one: <URL>; '
                                              'rel="next".')},
              "content": spec.json_content(spec.ref(component(entity, "List")))}
    return {
        f"/{resource}": {
            "get": {"operationId": f"list{component(entity)}s", "tags": tags,
                    "summary": f"List {many}",
                    "description": f"{many_d} in the order they were added, a page at a time: "
                                   f"follow the Link header for the next page.",
                    "parameters": _list_parameters(snapshot, entity),
                    "responses": {"200": listed, **spec.errors(400, 401, 429)}},
            "post": {"operationId": f"create{component(entity)}", "tags": tags,
                     "summary": f"Create a {one}",
                     "description": "Held to the same rules as the form; the record's "
                                    "history says it came through the API, with the "
                                    "token's login.",
                     "requestBody": {"required": True, "content": spec.json_content(
                         spec.ref(component(entity, "Create")))},
                     "responses": {
                         "201": {**_record_answer(entity, f"The {one_d} as saved."),
                                 "headers": {"ETag": ETAG, "Location": spec.header(
                                     "Where the new record is read.")}},
                         **spec.errors(400, 401, 403, 413, 415, 422, 429)}},
        },
        f"/{resource}/lookup": {
            "get": {"operationId": f"lookUp{component(entity)}", "tags": tags,
                    "summary": f"Find a {one} by natural key",
                    "parameters": _lookup_parameters(snapshot, entity),
                    "responses": {
                        "200": _record_answer(entity, f"The one {one_d} with that key."),
                        "409": spec.problem(f"More than one {one_d} has that key: read them "
                                            f"by id."),
                        **spec.errors(400, 401, 404, 429)}},
        },
        f"/{resource}/{{id}}": {
            "parameters": [ID],
            "get": {"operationId": f"read{component(entity)}", "tags": tags,
                    "summary": f"Read a {one}",
                    "responses": {"200": _record_answer(entity, f"The {one_d}."),
                                  **spec.errors(401, 404, 429)}},
            "patch": {"operationId": f"change{component(entity)}", "tags": tags,
                      "summary": f"Change a {one}",
                      "description": "Send the ETag you last read as If-Match: if the "
                                     "record changed since, nothing is saved (412) and you "
                                     "read it again.",
                      "parameters": [{"name": "If-Match", "in": "header", "required": True,
                                      "schema": {"type": "string"},
                                      "description": "The ETag of the record as you read "
                                                     "it."}],
                      "requestBody": {"required": True, "content": spec.json_content(
                          spec.ref(component(entity, "Patch")))},
                      "responses": {
                          "200": _record_answer(entity, f"The {one_d} as changed."),
                          "412": spec.problem("The record changed since that ETag: nothing "
                                              "was saved.",
                                              ETag=spec.header("The record's ETag now.")),
                          "428": spec.problem("If-Match was not sent."),
                          **spec.errors(400, 401, 403, 404, 413, 415, 422, 429)}},
            "delete": {"operationId": f"delete{component(entity)}", "tags": tags,
                       "summary": "Records are never deleted",
                       "description": "Answers 405: archive the record instead (restore "
                                      "undoes it).",
                       "responses": {"405": spec.problem(
                           "Records are never deleted.",
                           Allow=spec.header("The methods the address takes.")),
                           "default": spec.ref("Error", "responses")}},
        },
        f"/{resource}/{{id}}/archive": {
            "parameters": [ID],
            "post": {"operationId": f"archive{component(entity)}", "tags": tags,
                     "summary": f"Archive a {one}",
                     "description": "Moves it to the Archived tab; restore undoes it.",
                     "responses": {"200": _record_answer(entity, f"The {one_d}, archived."),
                                   **spec.errors(401, 403, 404, 429)}},
        },
        f"/{resource}/{{id}}/restore": {
            "parameters": [ID],
            "post": {"operationId": f"restore{component(entity)}", "tags": tags,
                     "summary": f"Restore an archived {one}",
                     "description": "Refused (422) when the record lacks what its Level "
                                    "now needs.",
                     "responses": {"200": _record_answer(entity, f"The {one_d}, restored."),
                                   **spec.errors(401, 403, 404, 422, 429)}},
        },
    }


@spec.provider
def describe_records(snapshot: Snapshot) -> spec.Contribution:
    """Customers and contacts, for the entities this dictionary has."""
    paths: dict[str, t.Any] = {}
    schemas: dict[str, t.Any] = {}
    tags = []
    for resource, entity in RESOURCES.items():
        if entity not in snapshot.entities:
            continue
        words = snapshot.entity(entity)
        levels = snapshot.entity(entity).levels
        kinds = f" ({', '.join(lv.plural for lv in levels)}: the level says which)" \
            if len(levels) > 1 else ""
        tags.append({"name": resource, "description": spec.plain(f"{words.plural}{kinds}.")})
        schemas[component(entity)] = record_schema(snapshot, entity)
        patch = schemas[component(entity, "Patch")] = patch_schema(snapshot, entity)
        schemas[component(entity, "Create")] = create_schema(snapshot, entity,
                                                             patch["properties"])
        schemas[component(entity, "List")] = {
            "type": "object", "required": ["items"], "additionalProperties": False,
            "properties": {"items": {"type": "array", "items": spec.ref(component(entity))}}}
        paths.update(resource_paths(snapshot, resource, entity))
    return {"paths": paths, "components": {"schemas": schemas}, "tags": tags}

"""The API's OpenAPI 3.1 description, GET /api/v1/openapi.json, as a client sees it.

It is valid OpenAPI (openapi-spec-validator) for the shipped dictionary, every solution
profile and 50 random dictionaries made through the checked dictionary operations; it
follows a dictionary change on the next request (a new version, a new ETag); it carries
labels as data; it answers 304 to If-None-Match; it is for tokens and signed-in staff
only; and what the records API really answers validates against its schemas, on both
stores.
"""

from __future__ import annotations

import json
import random
import typing as t

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from admin_app import dictionary
from admin_app.api.spec import plain
from admin_app.customising import profiles
from admin_app.customising.fields import add_field, parse_value, update_field
from admin_app.dictionary.documents import EntityDefinition, FieldDefinition, LayoutDefinition
from admin_app.dictionary.types import REGISTRY
from admin_app.models import Customer
from admin_app.models.users import User
from admin_app.targets import TARGETS

from .api_client import problem, token_for
from .conftest import signed_in_agent
from .helpers import submit

URL = "/api/v1/openapi.json"


# -- reading the description ------------------------------------------------------------------

def described(client: t.Any, headers: dict[str, str] | None = None) -> t.Any:
    answer = client.get(URL, headers=headers or {})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    document = json.loads(answer.get_data(as_text=True))
    validate(document)  # OpenAPI 3.1, by openapi-spec-validator
    return answer, document


def schema_of(document: dict[str, t.Any], name: str) -> dict[str, t.Any]:
    return document["components"]["schemas"][name]


def validator(document: dict[str, t.Any], name: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator of one component, its $refs read from the
    document, formats (date, email, uri) checked."""
    registry = Registry().with_resource(
        "urn:description", Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:description#/components/schemas/{name}"},
                                registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(document: dict[str, t.Any], name: str, instance: t.Any) -> None:
    found = [f"{list(e.absolute_path)}: {e.message}"
             for e in validator(document, name).iter_errors(instance)]
    assert not found, f"{name} refuses {instance!r}:\n" + "\n".join(found)


def missing(document: dict[str, t.Any], name: str, instance: dict[str, t.Any]) -> set[str]:
    """The properties the schema says `instance` lacks (its `required`, `if`/`then`
    included)."""
    names: set[str] = set()
    for error in validator(document, name).iter_errors(instance):
        for each in [error, *error.context]:
            if each.validator == "required":
                names |= set(each.validator_value) - set(each.instance)
    return names


@pytest.fixture
def api(store_app):
    return token_for(store_app, "read-write")


# -- valid for the shipped dictionary, every profile, random dictionaries ------------------

def test_the_shipped_dictionary_is_described_as_valid_openapi_3_1(api):
    answer, document = described(api.client, api.headers)
    with api.app.app_context():
        snapshot = dictionary.latest()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == str(snapshot.version)
    assert answer.headers["ETag"].startswith(f'"v{snapshot.version}-')
    assert document["servers"] == [{"url": "/api/v1"}]
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API token: Authorization: Bearer <token>."}
    customer, create = schema_of(document, "Customer"), schema_of(document, "CustomerCreate")
    # Every live field, its label as the title and its help as the description.
    live = {f.name: f for f in snapshot.live_fields("customer")}
    assert set(customer["properties"]) == set(live) | {"id", "revision"}
    assert set(create["properties"]) == set(live) - {"archived"}
    department = create["properties"]["department"]
    assert department == {"title": "Department", "type": ["string", "null"],
                          "maxLength": 100}
    assert create["properties"]["expiry_date"]["description"] == live["expiry_date"].help_text
    assert create["properties"]["level"]["enum"] == ["Customer", "Org"]
    assert create["properties"]["email"]["format"] == "email"
    assert create["properties"]["org"]["x-dictadmin-target"] == "org"
    assert sorted(create["required"]) == ["level", "name"]  # mandatory on every Level
    assert customer["properties"]["id"]["readOnly"] is True
    assert {"id", "revision", "archived"} <= set(customer["required"])
    # Every error answer is a problem document.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) or status == "default":
                    target = response.get("$ref")
                    response = document["components"]["responses"][target.rsplit("/")[-1]] \
                        if target else response
                    assert list(response["content"]) == ["application/problem+json"], \
                        (path, method, status)
                    assert response["content"]["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/Problem"}
    assert {"/customers", "/customers/{id}", "/customers/lookup", "/customers/{id}/archive",
            "/customers/{id}/restore", "/contacts", "/contacts/{id}"} <= set(document["paths"])
    patch = document["paths"]["/customers/{id}"]["patch"]
    assert {"412", "428", "422"} <= set(patch["responses"])
    assert [p for p in patch["parameters"] if p["name"] == "If-Match"][0]["required"] is True
    assert set(document["paths"]["/customers/{id}"]["delete"]["responses"]) == {
        "405", "default"}
    assert "Location" in document["paths"]["/customers"]["post"]["responses"]["201"]["headers"]


@pytest.mark.parametrize("profile", sorted(profiles.available()))
def test_every_solution_profile_is_described_in_its_words(app, profile):
    api = token_for(app)
    with app.app_context():
        profiles.apply(profile)
        snapshot = dictionary.latest()
    _answer, document = described(api.client, api.headers)
    assert document["info"]["version"] == str(snapshot.version)
    for entity, name in (("customer", "Customer"), ("contact", "Contact")):
        words = snapshot.entity(entity)
        assert schema_of(document, name)["title"] == words.singular
        for field in snapshot.live_fields(entity):
            if field.name != "archived":
                assert schema_of(document, f"{name}Create")["properties"][field.name][
                    "title"] == field.label
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert snapshot.entity("customer").plural in tags["customers"]


# Words an admin might type: quotes, markup, escapes, other scripts, emoji.
TRICKY = ['Say "hi"', "O'Brien & Sons", "<b>bold</b>", "<script>alert(1)</script>",
          "Ünïcödé", "名前", "Ταχ. κώδικας", "back\\slash", "tab\there", "✓ 🚀", "a/b",
          "{braces}", "$dollar", "100%", "line\u2028sep"]
PATTERNS = [r"[A-Z]{2}-\d{4}", r"\d+", r"[a-z ]*", r"(foo|bar)\d?", r".{0,10}", r"[^@]+"]


def _words(rng: random.Random) -> str:
    return " ".join(rng.sample(TRICKY, rng.randint(1, 3)))


def _random_field(rng: random.Random, entity: str, name: str, type_name: str,
                  levels: list[str], sections: dict[str, str]) -> dict[str, t.Any]:
    """The arguments of add_field for a random field of `type_name`."""
    kind = REGISTRY[type_name]
    label = _words(rng)
    attributes: dict[str, t.Any] = {"help_text": _words(rng) if rng.random() < 0.6 else ""}
    if kind.has_choices:
        attributes["choices"] = list(dict.fromkeys(_words(rng)
                                                   for _ in range(rng.randint(1, 5))))
    if kind.patterned:
        if rng.random() < 0.5:
            attributes["max_length"] = rng.randint(1, 500)
        if rng.random() < 0.5:
            attributes["pattern"] = rng.choice(PATTERNS)
    if kind.ranged and rng.random() < 0.7:
        if type_name == "date":
            texts = sorted(f"20{rng.randint(10, 40)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
                           for _ in range(2))
        elif type_name == "integer":
            texts = [str(v) for v in sorted(rng.randint(-10**6, 10**6) for _ in range(2))]
        else:
            texts = [str(v) for v in sorted(round(rng.uniform(-1e4, 1e4), 2)
                                             for _ in range(2))]
        low, high = (parse_value(type_name, text, label) for text in texts)
        keep = rng.choice(("both", "low", "high"))
        attributes["minimum"] = low if keep in ("both", "low") else None
        attributes["maximum"] = high if keep in ("both", "high") else None
    if kind.is_reference:
        attributes["target"] = rng.choice(sorted(TARGETS))
    mandatory = [level for level in levels if rng.random() < 0.3]
    if mandatory:
        attributes["mandatory"] = mandatory
    return {"entity": entity, "name": name, "label": label, "type": type_name,
            "sections": {level: sections[level] for level in mandatory}, **attributes}


def _random_dictionary(rng: random.Random, number: int) -> list[tuple[str, str]]:
    """Add fields of every type (a random few of each) to both entities, relabel a
    system field, and retire one of the new fields: all through the checked operations.
    The previous random dictionary's fields are dropped first, so each dictionary is
    the shipped one plus its own. Returns the (entity, name) of the fields added."""
    FieldDefinition.objects(name__startswith="rnd").delete()
    for layout in LayoutDefinition.objects:
        for section in layout.sections:
            section.fields = [name for name in section.fields if not name.startswith("rnd")]
        layout.save()
    added = []
    for entity in ("customer", "contact"):
        levels = [lv.name for lv in EntityDefinition.objects.get(name=entity).levels]
        sections = {layout.level: layout.sections[0].title
                    for layout in LayoutDefinition.objects(entity=entity)}
        types = [name for name in REGISTRY for _ in range(rng.randint(0, 2))] or ["text"]
        rng.shuffle(types)
        for position, type_name in enumerate(types):
            name = f"rnd{number}_{entity[:2]}_{position}"
            add_field(**_random_field(rng, entity, name, type_name, levels, sections))
            added.append((entity, name))
    update_field("customer", "department", label=_words(rng), help_text=_words(rng))
    entity, name = rng.choice(added)
    update_field(entity, name, retired=True)
    return added


def test_fifty_random_dictionaries_are_described_as_valid_openapi(app):
    api = token_for(app)
    rng = random.Random(22)
    checked_with_the_server = 0
    for number in range(50):
        with app.app_context():
            added = _random_dictionary(rng, number)
            snapshot = dictionary.latest()
        _answer, document = described(api.client, api.headers)  # valid, or it fails here
        assert document["info"]["version"] == str(snapshot.version), number
        for entity, name in added:
            field = snapshot.field(entity, name)
            component = entity.capitalize()
            for schema in (f"{component}Create", f"{component}Patch", component):
                properties = schema_of(document, schema)["properties"]
                if field.retired:
                    assert name not in properties, (number, schema, name)
                else:
                    assert properties[name]["title"] == field.label, (number, name)
                    if field.help_text:
                        assert properties[name]["description"].startswith(
                            plain(field.help_text.strip()))
        # Mandatory per Level, as the schema says it: what a record of each Level with
        # nothing else lacks is exactly what its Level needs (and, every 10th dictionary,
        # exactly what the API refuses as mandatory).
        for entity, resource in (("customer", "customers"), ("contact", "contacts")):
            component = f"{entity.capitalize()}Create"
            for level in snapshot.entity(entity).levels:
                needed = {f.name for f in snapshot.live_fields(entity)
                          if f.is_mandatory(level.name) and not f.kind.always_set}
                body = {"level": level.name} if entity == "customer" else {}
                assert missing(document, component, body) == needed - set(body), \
                    (number, entity, level.name)
                if number % 10 == 9:
                    answer = api.send("POST", resource, body)
                    refused = {e["field"] for e in problem(answer, 422)["errors"]
                               if e["code"] == "mandatory"}
                    assert refused == needed - set(body), (number, entity, level.name)
                    checked_with_the_server += 1
    assert checked_with_the_server == 5 * 3


# -- following the dictionary ------------------------------------------------------------------

def test_a_dictionary_change_shows_in_the_next_request(api):
    first, before = described(api.client, api.headers)
    with api.app.app_context():
        update_field("customer", "department", label="Cost Centre")
        add_field("customer", "shoe_size", "Shoe size", "integer", minimum=1, maximum=60,
                  help_text="EU sizes.")
    second, after = described(api.client, api.headers)
    assert int(after["info"]["version"]) > int(before["info"]["version"])
    assert second.headers["ETag"] != first.headers["ETag"]
    create = schema_of(after, "CustomerCreate")["properties"]
    assert create["department"]["title"] == "Cost Centre"
    assert create["shoe_size"] == {"title": "Shoe size", "type": ["integer", "null"],
                                   "format": "int64", "minimum": 1, "maximum": 60,
                                   "description": "EU sizes."}
    # The ETag the client held is no longer the description's: no 304 for it.
    assert api.client.get(URL, headers={**api.headers,
                                        "If-None-Match": first.headers["ETag"]}
                          ).status_code == 200
    with api.app.app_context():
        update_field("customer", "shoe_size", retired=True)
    _third, retired = described(api.client, api.headers)
    for name in ("Customer", "CustomerCreate", "CustomerPatch"):
        assert "shoe_size" not in schema_of(retired, name)["properties"]
    assert "shoe_size" not in json.dumps(retired)  # nor in any parameter or enum


def test_labels_with_quotes_markup_and_unicode_are_carried_as_data(api):
    label = 'He said "hi" <script>alert(1)</script> & ünïcödé 名前 \u2028 \\ 🚀'
    help_text = "<img src=x onerror=alert(1)> 'quoted' \"twice\""
    with api.app.app_context():
        update_field("customer", "department", label=label, help_text=help_text)
        add_field("customer", "tier", "Tier <b>", "choice",
                  choices=['"Gold"', "<Silver>", "Bronze & co", "Ünï"])
    answer, document = described(api.client, api.headers)
    department = schema_of(document, "CustomerCreate")["properties"]["department"]
    assert department["title"] == label  # a title is plain text
    # A description is CommonMark: the help is escaped so that it reads as typed.
    assert department["description"] == plain(help_text) == (
        "\\<img src=x onerror=alert(1)\\> 'quoted' \"twice\"")
    tier = schema_of(document, "CustomerCreate")["properties"]["tier"]
    assert tier["title"] == "Tier <b>"
    assert tier["enum"] == ['"Gold"', "<Silver>", "Bronze & co", "Ünï", None]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # never read as a page


def test_if_none_match_is_answered_304_until_the_dictionary_changes(api):
    answer, _document = described(api.client, api.headers)
    etag = answer.headers["ETag"]
    assert answer.headers["Cache-Control"] == "private, no-cache"
    for asked in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = api.client.get(URL, headers={**api.headers, "If-None-Match": asked})
        assert again.status_code == 304, asked
        assert again.get_data() == b"" and again.headers["ETag"] == etag
    assert api.client.get(URL, headers={**api.headers, "If-None-Match": '"other"'}
                          ).status_code == 200


# -- who may read it ----------------------------------------------------------------------------

def test_without_a_token_or_staff_session_the_answer_is_the_401_problem(store_app):
    with store_app.test_client() as anonymous:
        answer = anonymous.get(URL)
        body = problem(answer, 401)
        assert body["type"] == "urn:dictadmin:problem:unauthorised"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        bad = anonymous.get(URL, headers={"Authorization": "Bearer not-a-token"})
        assert problem(bad, 401)["detail"].startswith("The token is not valid")


def test_a_read_only_token_may_read_it(store_app):
    api = token_for(store_app, "read")
    described(api.client, api.headers)


def test_signed_in_admins_and_agents_may_read_it(store_client, store_app):
    described(store_client)  # the admin's session
    for agent in signed_in_agent(store_app):
        described(agent)


def test_a_signed_in_webguest_may_not_read_it(store_app):
    with store_app.app_context():
        customer = Customer(name="Portal Person", level="Customer",
                            email="portal@example.com").save()
        guest = User(email="portal@example.com", role="webguest", customer=customer)
        guest.set_password("a portal passphrase for the test")
        guest.save()
    with store_app.test_client() as webguest:
        signed_in = submit(webguest, "/portal/", {"email": "portal@example.com",
                                                   "password": "a portal passphrase for "
                                                               "the test"})
        assert signed_in.status_code == 302
        assert webguest.get("/portal/details/").status_code == 200
        problem(webguest.get(URL), 401)


# -- the records API answers as described -----------------------------------------------------

def test_what_the_records_api_answers_validates_against_the_description(api):
    _answer, document = described(api.client, api.headers)
    made = api.send("POST", "customers", {"name": "Ada Lovelace", "level": "Customer",
                                           "email": "ada@example.com",
                                           "expiry_date": "2027-01-31"})
    assert made.status_code == 201
    assert_valid(document, "Customer", made.get_json())
    record = made.get_json()
    org = api.send("POST", "customers", {"name": "Acme", "level": "Org"}).get_json()
    contact = api.send("POST", "contacts", {"name": "Bob", "customer": org["id"],
                                            "email": "bob@example.com"})
    assert contact.status_code == 201, contact.get_data(as_text=True)
    assert_valid(document, "Contact", contact.get_json())
    read = api.send("GET", f"customers/{record['id']}")
    assert_valid(document, "Customer", read.get_json())
    for resource, component in (("customers", "CustomerList"), ("contacts", "ContactList")):
        listed = api.send("GET", f"{resource}?limit=1")
        assert listed.status_code == 200 and listed.get_json()["items"]
        assert_valid(document, component, listed.get_json())
    chosen = api.send("GET", "customers?fields=name,email")
    assert_valid(document, "CustomerList", chosen.get_json())
    changed = api.send("PATCH", f"customers/{record['id']}", {"department": "Finance"},
                       **{"If-Match": read.headers["ETag"]})
    assert_valid(document, "Customer", changed.get_json())
    archived = api.send("POST", f"customers/{record['id']}/archive")
    assert_valid(document, "Customer", archived.get_json())
    # Problems: refused fields, a stale ETag, a missing If-Match, no such record, DELETE.
    refused = api.send("POST", "customers", {"email": "nope", "level": "Tenant"})
    assert refused.status_code == 422 and refused.get_json()["errors"]
    for answer in (refused,
                   api.send("PATCH", f"customers/{record['id']}", {"department": "X"},
                            **{"If-Match": '"stale"'}),
                   api.send("PATCH", f"customers/{record['id']}", {"department": "X"}),
                   api.send("GET", f"customers/{'0' * 24}"),
                   api.send("DELETE", f"customers/{record['id']}"),
                   api.send("GET", "customers?limit=0")):
        assert answer.mimetype == "application/problem+json"
        assert_valid(document, "Problem", answer.get_json())
    # Requests the description declares: a create body, a change.
    assert_valid(document, "CustomerCreate", {"name": "Ada", "level": "Customer",
                                              "email": "ada@example.com"})
    assert missing(document, "CustomerCreate", {"level": "Org"}) == {"name"}


def test_values_saved_before_a_rule_changed_still_match_the_record_schema(api):
    """A record keeps a value an admin's later rule refuses (a choice removed, a
    shorter length, a field made mandatory) until it is next saved: the API answers it,
    and the description must not call that answer wrong, while a create is held to the
    new rules."""
    with api.app.app_context():
        add_field("customer", "tier", "Tier", "choice", choices=["Gold", "Silver"])
    made = api.send("POST", "customers", {"name": "Old Values", "level": "Customer",
                                           "tier": "Silver", "department": "Research"})
    assert made.status_code == 201
    with api.app.app_context():
        update_field("customer", "tier", choices=["Gold"])
        update_field("customer", "department", max_length=3)
        add_field("customer", "badge", "Badge", "text", mandatory=["Customer", "Org"],
                  sections={"Customer": "Customer", "Org": "Organisation"})
    _answer, document = described(api.client, api.headers)
    read = api.send("GET", f"customers/{made.get_json()['id']}").get_json()
    assert read["tier"] == "Silver" and read["badge"] is None
    assert_valid(document, "Customer", read)
    create = schema_of(document, "CustomerCreate")["properties"]
    assert create["tier"]["enum"] == ["Gold", None] and create["department"]["maxLength"] == 3
    assert create["badge"]["type"] == "string"  # mandatory on every Level: no null
    assert schema_of(document, "Customer")["properties"]["badge"]["x-dictadmin-mandatory"] \
        == ["Customer", "Org"]

"""One rulebook: a value gets the same verdict and the same message through the record
form and through a seed load, for every field type.

Each row of the table is one value as a person would type it into the form and as a
file would carry it, and what both must say (None: accepted).
"""

import json
import re
import time

import pytest

from admin_app import importer
from admin_app.customising.checked import DictionaryError
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary.rules import compile_pattern
from admin_app.models import Customer

from .helpers import csrf_token

FIELDS = [  # name, label, type, attributes
    ("code", "Code", "text", {"pattern": r"\d{5}"}),
    ("short", "Short", "text", {"max_length": 3}),
    ("notes", "Notes", "longtext", {"max_length": 10}),
    ("seats", "Seats", "integer", {"minimum": 1, "maximum": 500}),
    ("ratio", "Ratio", "decimal", {"minimum": 0}),
    ("start", "Start", "date", {"minimum": "2020-01-01"}),
    ("vip", "VIP", "boolean", {}),
    ("tier", "Tier", "choice", {"choices": ["Gold", "Silver"]}),
    ("alt_email", "Alt Email", "email", {}),
    ("site", "Site", "url", {}),
    ("mobile", "Mobile", "phone", {}),
    ("cost_centre", "Cost Centre", "text", {"mandatory": ["Customer"]}),
]

ROWS = [  # field, as typed in the form, as written in a file, the message (None: accepted)
    ("code", "12345", "12345", None),
    ("code", "12345<script>junk", "12345<script>junk", "Code does not have the expected format."),
    ("code", "1234", "1234", "Code does not have the expected format."),
    ("short", "abc", "abc", None),
    ("short", "abcd", "abcd", "Short must be at most 3 characters."),
    ("notes", "0123456789x", "0123456789x", "Notes must be at most 10 characters."),
    ("seats", "12", 12, None),
    ("seats", "0", 0, "Seats must be between 1 and 500."),
    ("seats", "12a", "12a", "Seats must be a whole number."),
    ("seats", "1.5", 1.5, "Seats must be a whole number."),
    ("seats", "99999999999999999999", 99999999999999999999,
     "Seats must be a whole number of at most 18 digits."),
    ("ratio", "0.25", 0.25, None),
    ("ratio", "-1", -1, "Ratio must be at least 0."),
    ("ratio", "a lot", "a lot", "Ratio must be a number."),
    ("start", "2026-01-31", "2026-01-31", None),
    ("start", "31/01/2026", "31/01/2026", "Start must be a date written YYYY-MM-DD."),
    ("start", "2026-02-30", "2026-02-30", "Start must be a date written YYYY-MM-DD."),
    ("start", "2019-12-31", "2019-12-31", "Start must be at least 2020-01-01."),
    ("vip", "true", True, None),
    ("vip", "maybe", "maybe", "VIP must be true or false."),
    ("tier", "Gold", "Gold", None),
    ("tier", "Bronze", "Bronze", "Tier must be one of: Gold, Silver."),
    ("alt_email", "ann@acme.example", "ann@acme.example", None),
    ("alt_email", "not-an-email", "not-an-email", "Alt Email must be an email address."),
    ("site", "https://acme.example/help", "https://acme.example/help", None),
    ("site", "javascript:alert(1)", "javascript:alert(1)",
     "Site must be a web address starting with http:// or https://."),
    ("site", "acme.example", "acme.example",
     "Site must be a web address starting with http:// or https://."),
    ("mobile", "+44 20 7946 0001", "+44 20 7946 0001", None),
    ("mobile", "x2201", "x2201", None),
    ("mobile", "call me", "call me",
     "Mobile must be a phone number: digits, spaces, + ( ) - . / and an extension such as "
     "x2201."),
    ("cost_centre", "", "", "Cost Centre is mandatory."),
]


@pytest.fixture
def custom_fields(store_app):
    with store_app.app_context():
        for name, label, kind, attributes in FIELDS:
            add_field("customer", name, label, kind, sections={"Customer": "Customer"},
                      **attributes)
    return store_app


def form_verdict(client, field, typed):
    """Save a new customer through the form; the field's error, or None when it saved."""
    page = client.get("/admin/customer/new/").get_data(as_text=True)
    values = {"csrf_token": csrf_token(page), "name": f"Form {field} {typed}",
              "level": "Customer", "cost_centre": "CC1", "_ok": "OK"}
    values[field] = typed
    response = client.post("/admin/customer/new/", data=values)
    if response.status_code == 302:
        return None
    html = response.get_data(as_text=True)
    errors = re.findall(r'class="invalid-feedback">\s*<ul[^>]*>\s*<li>([^<]*)</li>', html)
    assert errors, f"{field}={typed!r} neither saved nor showed an error"
    return errors[0].replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")


def load_verdicts(tmp_path, rows):
    """Load one customer per row; each row's failure message, or None when it loaded."""
    records = []
    for number, (field, _typed, written, _expected) in enumerate(rows):
        record = {"name": f"File {number}", "cost_centre": "CC1"}
        record[field] = written
        records.append(record)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({"customers": records}), encoding="utf-8")
    report = importer.load([path])
    failed = {f.position: f.message for f in report.failures}
    return [failed.get(f"rows.json customers #{n + 1}") for n in range(len(rows))]


def test_form_and_import_give_the_same_verdict_and_message_for_every_type(
        custom_fields, tmp_path):
    app = custom_fields
    with app.test_client() as client:
        from .helpers import login
        assert login(client).status_code == 302
        through_form = [form_verdict(client, field, typed) for field, typed, _w, _e in ROWS]
    with app.app_context():
        through_file = load_verdicts(tmp_path, ROWS)
    expected = [row[3] for row in ROWS]
    table = [(row[0], row[1], want, form, file)
             for row, want, form, file in zip(ROWS, expected, through_form, through_file,
                                              strict=True)
             if not want == form == file]
    assert not table, "field, typed, expected, form said, file said:\n" + "\n".join(
        map(repr, table))


def test_a_stored_value_is_what_was_typed_read_by_the_same_rules(custom_fields, tmp_path):
    with custom_fields.app_context():
        path = tmp_path / "one.json"
        path.write_text(json.dumps({"customers": [{
            "name": "Typed", "cost_centre": " CC1 ", "seats": 12, "start": "2026-01-31",
            "alt_email": "Ann@Acme.Example", "vip": True}]}), encoding="utf-8")
        assert importer.load([path]).ok
        stored = Customer.objects.get(name="Typed")
        assert (stored.cost_centre, stored.seats, stored.start.isoformat(), stored.alt_email,
                stored.vip) == ("CC1", 12, "2026-01-31T00:00:00", "ann@acme.example", True)


@pytest.mark.parametrize("kind", ["integer", "date", "reference", "boolean", "choice"])
def test_a_pattern_on_a_field_that_is_not_text_is_refused(app, kind):
    """It once made every save of the form answer 500."""
    extra = {"target": "org"} if kind == "reference" else \
        {"choices": ["A"]} if kind == "choice" else {}
    with pytest.raises(DictionaryError, match=f"applies to text fields, not to a {kind}"):
        add_field("customer", "odd", "Odd", kind, pattern=r"\d+", **extra)
    add_field("customer", "odd", "Odd", kind, **extra)
    with pytest.raises(DictionaryError, match="applies to text fields"):
        update_field("customer", "odd", pattern=r"\d+")


@pytest.mark.parametrize("pattern, says", [
    ("([A", "is not a valid regular expression"),
    (r"(a)\1", "cannot be matched in a bounded time"),
    (r"(?=a)a", "cannot be matched in a bounded time"),
])
def test_patterns_that_do_not_parse_or_cannot_run_in_bounded_time_are_refused(
        app, pattern, says):
    with pytest.raises(DictionaryError, match=says):
        update_field("customer", "department", pattern=pattern)


def test_a_catastrophic_pattern_is_matched_in_linear_time(app):
    """`(a|a)+$` takes exponential time in a backtracking engine; RE2 does not backtrack."""
    update_field("customer", "department", pattern="(a|a)+$")
    started = time.perf_counter()
    assert compile_pattern("(a|a)+$").fullmatch("a" * 5000 + "b") is None
    assert time.perf_counter() - started < 1.0

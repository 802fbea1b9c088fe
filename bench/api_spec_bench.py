"""What the API's live description costs (issue 22: "building the spec for a dictionary
of 200 custom fields takes well under a page's time").

On one store, the shipped dictionary plus 200 custom fields (of every type in the
registry, 100 on customers and 100 on contacts, added through the checked dictionary
operation), prints, median of many:

- build: the OpenAPI document built afresh from the snapshot and encoded as JSON (what
  the first request after a dictionary change pays, once per version and worker);
- served: GET /api/v1/openapi.json as a client gets it while the dictionary is unchanged
  (the cached document: the version check and sending it);
- page: GET /admin/customer/, one admin list page of 20 customers, with the same
  dictionary;

and the ratio build / page. Not a test: it asserts nothing.

    .venv/bin/python bench/api_spec_bench.py [--store embedded|mongomock] [--repeat 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mongoengine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import median_ms  # noqa: E402

from admin_app import dictionary  # noqa: E402
from admin_app.api import spec  # noqa: E402
from admin_app.customising.fields import add_field  # noqa: E402
from admin_app.dictionary.types import REGISTRY  # noqa: E402
from admin_app.models import Customer, User  # noqa: E402
from admin_app.security import api_tokens  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.helpers import ADMIN_EMAIL, login  # noqa: E402

CUSTOM_FIELDS = 200


def add_custom_fields(count: int) -> None:
    """`count` fields, every registry type in turn, half on each entity, with help, a
    length, choices, a range or a target as their type takes them."""
    types = list(REGISTRY)
    for number in range(count):
        entity = "customer" if number % 2 == 0 else "contact"
        type_name = types[number % len(types)]
        kind = REGISTRY[type_name]
        attributes: dict = {"help_text": f"Help for custom field {number}."}
        if kind.patterned:
            attributes["max_length"] = 100
        if kind.has_choices:
            attributes["choices"] = [f"Choice {c}" for c in range(5)]
        if kind.ranged and type_name != "date":
            attributes.update(minimum=0, maximum=1000)
        if kind.is_reference:
            attributes["target"] = "contract"
        add_field(entity, f"custom_{number:03d}", f"Custom {number}", type_name, **attributes)


def run(store: str, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), store)
        with app.app_context():
            add_custom_fields(CUSTOM_FIELDS)
            for number in range(20):
                Customer(name=f"Listed {number:02d}", level="Customer").save()
            snapshot = dictionary.latest()
            live = sum(len(snapshot.live_fields(entity)) for entity in ("customer", "contact"))
            secret = api_tokens.create(User.objects.get(email=ADMIN_EMAIL), "read",
                                       actor="bench").secret

            def build() -> bytes:  # as a worker does, once per dictionary version
                return spec.described_afresh(snapshot).body

            size = len(build())
            built = median_ms(build, repeat)
        with app.test_client() as client:
            headers = {"Authorization": f"Bearer {secret}"}

            def served() -> None:
                answer = client.get("/api/v1/openapi.json", headers=headers)
                assert answer.status_code == 200, answer.status_code

            served()
            got = median_ms(served, repeat)
            login(client)

            def page() -> None:
                answer = client.get("/admin/customer/")
                assert answer.status_code == 200, answer.status_code

            page()
            listed = median_ms(page, repeat)
        print(f"[{store}] {CUSTOM_FIELDS} custom fields ({live} live fields in all); "
              f"document {size / 1024:.0f} KiB")
        print(f"[{store}] build the description (once per version): {built:7.1f} ms")
        print(f"[{store}] GET /api/v1/openapi.json, unchanged:       {got:7.1f} ms")
        print(f"[{store}] GET /admin/customer/ (a list page):         {listed:7.1f} ms")
        print(f"[{store}] build / page = {built / listed:.2f} (the goal: well under 1); "
              f"served / page = {got / listed:.2f}")
        mongoengine.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("embedded", "mongomock"), default="embedded")
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args()
    run(arguments.store, arguments.repeat)

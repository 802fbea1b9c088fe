"""What following a live dictionary costs.

Prints (median of many, per store): the per-request version check when nothing changed,
the time to reload the dictionary and rebuild a form after a change, and the time to
render a create form of the default layout and of a 60-field layout. Not a test.

    .venv/bin/python bench/dictionary_bench.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import mongoengine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # noqa: E402

from admin_app.dictionary import snapshot as snapshots  # noqa: E402
from admin_app.dictionary.documents import FieldDefinition, LayoutDefinition, bump_version  # noqa: E402
from admin_app.forms.records import form_class  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.helpers import login  # noqa: E402


def widen_layout(total_fields: int) -> None:
    layout = LayoutDefinition.objects.get(entity="customer", level="Customer")
    present = sum(len(s.fields) for s in layout.sections)
    for i in range(total_fields - present):
        FieldDefinition(entity="customer", name=f"extra_{i:02d}", label=f"Extra {i}",
                        type="text", max_length=100).save()
        layout.sections[i % len(layout.sections)].fields.append(f"extra_{i:02d}")
    layout.save()
    bump_version()


def run(store: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), store)
        with app.app_context():
            cache = snapshots.SnapshotCache()
            cache.fresh()
            check = median_ms(cache.fresh, 2000)

            def change_and_rebuild() -> None:
                bump_version()
                form_class(cache.fresh(), "customer", "Customer")

            bump = median_ms(bump_version, 50)
            rebuild = median_ms(change_and_rebuild, 50) - bump
        with app.test_client() as client:
            login(client)

            def render():
                response = client.get("/admin/customer/new/")
                assert response.status_code == 200, response.status_code
                return response.get_data(as_text=True)

            shown = render().count('<label for="')
            default = median_ms(render, 30)
            with app.app_context():
                widen_layout(60)
            shown_wide = render().count('<label for="')
            wide = median_ms(render, 30)
        print(f"[{store}] version check, unchanged: {check:7.3f} ms per request")
        print(f"[{store}] reload + rebuild form after a change: {rebuild:7.2f} ms "
              f"(the change itself: {bump:.2f} ms)")
        print(f"[{store}] render create form, {shown} fields: {default:7.1f} ms; "
              f"{shown_wide} fields: {wide:7.1f} ms")
        mongoengine.disconnect()


if __name__ == "__main__":
    for store_name in ("embedded", "mongomock"):
        run(store_name)

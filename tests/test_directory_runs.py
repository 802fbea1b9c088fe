"""The directory lease between processes: one run per connector, held by one conditional
upsert and the lease's unique `_id`, with no lock (`directory/runs.py`)."""

from __future__ import annotations

from datetime import timedelta

import mongoengine
import pytest

from admin_app import store
from admin_app.directory import runs

from . import processes
from .conftest import make_app

# Take the lease of connector "ad" from a process of its own; say whether it was had.
_ACQUIRE = """
from admin_app.directory import runs

[holder] = ARGS
with app.app_context():
    runs.held_by_other("ad")  # connected before the start
    start_together()
    print("held" if runs.acquire("ad", holder) else "refused")
"""


@pytest.mark.parametrize("left", [None, "killed run"], ids=["free", "expired"])
def test_four_processes_taking_a_lease_at_once_give_it_to_one(tmp_path, left):
    """A free lease, or one a run killed mid-way left and that has expired: of four
    processes taking it at once, one gets it."""
    app = make_app(tmp_path, "embedded")
    try:
        if left:
            with app.app_context():
                store.database()[runs.LEASES].insert_one(
                    {"_id": "ad", "holder": left, "expires": runs.now() - timedelta(minutes=1)})
        outputs = processes.at_once(app, _ACQUIRE, [[f"run {n}"] for n in range(4)])
        assert sorted(outputs) == ["held\n"] + ["refused\n"] * 3, outputs
        with app.app_context():
            lease = store.database()[runs.LEASES].find_one({"_id": "ad"})
        assert outputs[int(lease["holder"].split()[1])] == "held\n", (lease, outputs)
    finally:
        mongoengine.disconnect()

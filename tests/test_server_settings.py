"""What Dictadmin asks of a MongoDB server for each read and write (docs/scaling.md).

No server runs here: the ping at start-up is answered for the test, and the connected
client's settings are read back, as every read and write of the process uses them.
"""

from __future__ import annotations

import mongoengine
import pytest
from pymongo import ReadPreference
from pymongo.database import Database

from admin_app import store


@pytest.fixture
def server_client(monkeypatch, tmp_path):
    """Connect to a MongoDB address as the app does (the ping answered), and return the
    client every read and write of the process goes through."""
    monkeypatch.setattr(Database, "command", lambda self, name, *a, **k: {"ok": 1.0})

    def connect(uri: str):
        store.connect(uri, str(tmp_path / "store"), "dictadmin")
        return mongoengine.get_connection(store.ALIAS)

    yield connect
    mongoengine.disconnect(store.ALIAS)


def test_a_server_address_without_options_gets_majority_writes_and_primary_reads(server_client):
    client = server_client("mongodb://127.0.0.1:9/dictadmin")
    assert client.write_concern.document == {"w": "majority"}
    assert client.read_preference == ReadPreference.PRIMARY
    assert client.options.retry_writes is True
    assert client.options.retry_reads is True


def test_options_the_address_names_are_kept(server_client):
    client = server_client("mongodb://127.0.0.1:9/dictadmin?w=1&readPreference=primaryPreferred"
                           "&retryWrites=false")
    assert client.write_concern.document == {"w": 1}
    assert client.read_preference == ReadPreference.PRIMARY_PREFERRED
    assert client.options.retry_writes is False
    assert client.options.retry_reads is True


def test_an_option_is_known_however_the_address_spells_it(server_client):
    client = server_client("mongodb://127.0.0.1:9/dictadmin?W=2;readpreference=secondary")
    assert client.write_concern.document == {"w": 2}
    assert client.read_preference == ReadPreference.SECONDARY
    assert client.options.retry_writes is True

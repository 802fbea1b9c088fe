"""Start-up: which store is used, and what an operator sees when it cannot be."""

import mongoengine
import pytest

from admin_app import create_app
from admin_app.models import Customer

from .conftest import make_app
from .servers import free_port


def test_bad_uri_scheme_is_one_clear_sentence(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        create_app({"INSTANCE_PATH": str(tmp_path), "MONGODB_URI": "postgres://db/x"})
    assert str(exit_info.value) == (
        "Dictadmin cannot start: MONGODB_URI must start with mongodb://, mongodb+srv:// or "
        "mongomock://, not postgres://; unset it to use the embedded store.")


def test_unreachable_server_is_one_clear_sentence(tmp_path):
    port = free_port()  # nothing listens there
    with pytest.raises(SystemExit) as exit_info:
        create_app({"INSTANCE_PATH": str(tmp_path), "DB_TIMEOUT_MS": 300,
                    "MONGODB_URI": f"mongodb://127.0.0.1:{port}/dictadmin"})
    assert str(exit_info.value).startswith(
        "Dictadmin cannot start: Cannot reach MongoDB at 127.0.0.1 within 300 ms")


def test_malformed_uri_is_one_clear_sentence(tmp_path):
    with pytest.raises(SystemExit, match="MONGODB_URI is not a valid MongoDB address"):
        create_app({"INSTANCE_PATH": str(tmp_path), "MONGODB_URI": "mongodb://a:b:c:d/"})


def test_embedded_store_keeps_records_across_restarts(tmp_path):
    make_app(tmp_path, "embedded")
    Customer(name="Persisted", level="Customer").save()
    mongoengine.disconnect()
    make_app(tmp_path, "embedded")  # a "restart": new app, new connection, same folder
    assert Customer.objects.get(name="Persisted").level == "Customer"
    assert (tmp_path / "instance" / "store" / "dictadmin" / "customers").is_file()
    mongoengine.disconnect()


def test_secret_key_is_generated_once_per_instance(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": None,
                        "MONGODB_URI": "mongomock://localhost/secret"})
    second = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": None,
                         "MONGODB_URI": "mongomock://localhost/secret"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    mongoengine.disconnect()

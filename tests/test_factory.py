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


def test_web_pages_work_on_a_store_that_never_ran_setup(tmp_path):
    """The Procfile runs gunicorn directly; an operator may point at a new MongoDB."""
    from admin_app.dictionary.documents import EntityDefinition
    from admin_app.models import User

    from .helpers import login

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "MONGODB_URI": "mongomock://localhost/never_setup"})
    try:
        with app.test_client() as client:
            notice = client.get("/login").get_data(as_text=True)
            assert "No admin login exists yet" in notice and "flask --app admin_app setup" \
                in notice
            with app.app_context():
                assert EntityDefinition.objects.count() == 0
                admin = User(email="admin@example.com", role="admin")
                admin.set_password("first admin password")
                admin.save()
            assert "No admin login" not in client.get("/login").get_data(as_text=True)
            assert login(client, "admin@example.com", "first admin password").status_code == 302
            for url in ("/admin/", "/admin/customer/", "/admin/customer/new/", "/admin/org/",
                        "/admin/contact/new/", "/admin/dictionary/"):
                assert client.get(url).status_code == 200, url
            with app.app_context():
                assert EntityDefinition.objects.count() == 2
    finally:
        mongoengine.disconnect()


def test_gunicorn_on_an_empty_embedded_store_serves_working_pages(tmp_path):
    from .servers import Browser, dictadmin_server

    instance = tmp_path / "instance"
    instance.mkdir()
    with dictadmin_server(instance, workers=2) as base:
        browser = Browser(base)
        assert "No admin login exists yet" in browser.get("/login")
        # An admin written straight to the same store: no dictionary is installed.
        create_app({"INSTANCE_PATH": str(instance), "MONGODB_URI": None})
        from admin_app.dictionary.documents import EntityDefinition
        from admin_app.security.accounts import ensure_first_admin

        from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD
        ensure_first_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert EntityDefinition.objects.count() == 0
        browser.login()
        assert "model-list" in browser.get("/admin/customer/")
        for url in ("/admin/customer/new/", "/admin/org/new/", "/admin/contact/new/"):
            assert 'class="admin-form' in browser.get(url), url
        assert EntityDefinition.objects.count() == 2
        mongoengine.disconnect()

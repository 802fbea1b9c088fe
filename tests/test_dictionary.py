"""The dictionary drives the forms, live, in every process that shares the store."""

import re

import pytest

from admin_app.customising.checked import DictionaryError
from admin_app.customising.fields import update_field
from admin_app.dictionary import defaults
from admin_app.dictionary.documents import EntityDefinition, FieldDefinition
from admin_app.models import Customer

from .conftest import make_app
from .helpers import csrf_token, field_error, login, submit
from .servers import Browser, dictadmin_server


def label_of(html, name):
    match = re.search(rf'<label for="{name}"[^>]*>\s*([^<&]*?)\s*[<&]', html, re.S)
    return match.group(1) if match else None


def test_init_is_idempotent_and_keeps_admin_changes(app):
    with app.app_context():
        update_field("customer", "department", label="Cost Centre")
        assert defaults.install() == 0
        assert FieldDefinition.objects.get(entity="customer", name="department").label \
            == "Cost Centre"
        FieldDefinition.objects(entity="customer", name="phone_2").delete()
        assert defaults.install() == 1


def test_dictionary_init_command_reports_what_it_did(runner):
    result = runner.invoke(args=["dictionary", "init"])
    assert result.exit_code == 0
    assert "already installed; nothing changed" in result.output


def test_relabel_shows_on_the_next_form_and_list(client):
    assert label_of(client.get("/admin/customer/new/").get_data(as_text=True),
                    "department") == "Department"
    with client.application.app_context():
        update_field("customer", "department", label="Cost Centre")
    assert label_of(client.get("/admin/customer/new/").get_data(as_text=True),
                    "department") == "Cost Centre"
    Customer(name="Ann Lee", level="Customer", department="F1").save()
    assert "Cost Centre" in client.get("/admin/customer/").get_data(as_text=True)


def test_mandatory_flag_is_enforced_from_the_next_request(client):
    assert submit(client, "/admin/customer/new/", {"name": "A", "level": "Customer",
                                                   "_ok": "OK"}).status_code == 302
    with client.application.app_context():
        update_field("customer", "location", mandatory=["Customer"], label="Site")
    response = submit(client, "/admin/customer/new/", {"name": "B", "level": "Customer"})
    assert field_error(response.get_data(as_text=True), "Site is mandatory.")
    assert Customer.objects(name="B").count() == 0
    # The Org layout does not require it.
    assert submit(client, "/admin/org/new/", {"name": "C", "level": "Org",
                                              "_ok": "OK"}).status_code == 302


def test_renaming_levels_renames_the_menu(client):
    with client.application.app_context():
        entity = EntityDefinition.objects.get(name="customer")
        entity.levels[0].singular, entity.levels[0].plural = "User", "Users"
        entity.save()
        from admin_app.dictionary.documents import bump_version
        bump_version()
    html = client.get("/admin/").get_data(as_text=True)
    menu_item = re.search(r'href="/admin/customer/">\s*(\w+)</a>', html).group(1)
    assert menu_item == "Users"
    assert re.search(r'href="/admin/org/">\s*(\w+)</a>', html).group(1) == "Orgs"
    assert "<title>Your Company - Users - Dictadmin</title>" in client.get(
        "/admin/customer/").get_data(as_text=True)


def test_unknown_field_change_is_refused(app):
    with app.app_context(), pytest.raises(DictionaryError, match="no field 'nope'"):
        update_field("customer", "nope", label="X")


def test_second_process_sees_a_dictionary_change_without_restart(tmp_path):
    """Process B (gunicorn) has built its forms; process A changes the dictionary on the
    same embedded store; B's next request shows the change."""
    app = make_app(tmp_path, "embedded")
    with dictadmin_server(tmp_path / "instance") as base:
        other = Browser(base)
        other.login()
        assert label_of(other.get("/admin/customer/new/"), "department") == "Department"
        with app.app_context():
            update_field("customer", "department", label="Cost Centre",
                         mandatory=["Customer"])
        html = other.get("/admin/customer/new/")
        assert label_of(html, "department") == "Cost Centre"
        dept = re.search(r'<label for="department".*?</label>', html, re.S).group(0)
        assert "text-danger" in dept, "the mandatory mark follows too"


def test_relabel_on_the_screen_shows_in_another_process(tmp_path):
    app = make_app(tmp_path, "embedded")
    with dictadmin_server(tmp_path / "instance") as base, app.test_client() as admin:
        other = Browser(base)
        other.login()
        assert label_of(other.get("/admin/customer/new/"), "department") == "Department"
        login(admin)
        url = "/admin/dictionary/customer/department/"
        html = admin.get(url).get_data(as_text=True)
        revision = re.search(r'name="revision" type="hidden" value="(\d+)"', html).group(1)
        saved = admin.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                                      "label": "Cost Centre", "max_length": "100"})
        assert saved.status_code == 302
        assert label_of(other.get("/admin/customer/new/"), "department") == "Cost Centre"
        assert "Cost Centre" in other.get("/admin/customer/")

"""Every dictionary change is recorded (who, when, before, after) and can be reverted."""

import re

from admin_app.customising.fields import add_field
from admin_app.dictionary.documents import FieldDefinition
from admin_app.dictionary.history import DictionaryChange

from .helpers import ADMIN_EMAIL, csrf_token

DEPT = "/admin/dictionary/customer/department/"


def relabel(client, label):
    html = client.get(DEPT).get_data(as_text=True)
    revision = re.search(r'name="revision" type="hidden" value="(\d+)"', html).group(1)
    return client.post(DEPT, data={"csrf_token": csrf_token(html), "revision": revision,
                                   "label": label, "searchable": "y", "brought_forward": "y",
                                   "max_length": "100", "list_column": "3"})


def label():
    return FieldDefinition.objects.get(entity="customer", name="department").label


def test_change_is_recorded_with_who_and_what_and_can_be_reverted(client):
    assert relabel(client, "Cost Centre").status_code == 302
    page = client.get("/admin/dictionary/history/").get_data(as_text=True)
    assert ADMIN_EMAIL in page
    assert "label: &#39;Department&#39; → &#39;Cost Centre&#39;" in page
    change = DictionaryChange.objects.get(name="department")
    assert (change.before["label"], change.after["label"]) == ("Department", "Cost Centre")

    client.post(f"/admin/dictionary/history/{change.pk}/revert/",
                data={"csrf_token": csrf_token(page)})
    assert label() == "Department"
    assert 'for="department"' in client.get("/admin/customer/new/").get_data(as_text=True)
    assert DictionaryChange.objects(name="department").count() == 2, "the revert is recorded"


def test_reverting_an_added_field_retires_it_and_keeps_data(client):
    new = client.get("/admin/dictionary/customer/new/").get_data(as_text=True)
    client.post("/admin/dictionary/customer/new/", data={
        "csrf_token": csrf_token(new), "name": "seats", "label": "Seats", "type": "integer",
        "shown_on": ["Customer"]})
    added = DictionaryChange.objects.get(name="seats")
    assert added.actor == ADMIN_EMAIL and added.summary == "added Seats"
    page = client.get("/admin/dictionary/history/").get_data(as_text=True)
    client.post(f"/admin/dictionary/history/{added.pk}/revert/",
                data={"csrf_token": csrf_token(page)})
    assert FieldDefinition.objects.get(entity="customer", name="seats").retired is True
    assert 'id="seats"' not in client.get("/admin/customer/new/").get_data(as_text=True)


def test_profiles_are_recorded(client):
    page = client.get("/admin/dictionary/").get_data(as_text=True)
    client.post("/admin/dictionary/profile/", data={"csrf_token": csrf_token(page),
                                                     "profile": "itsm"})
    assert DictionaryChange.objects(kind="entity").first().summary.startswith(
        "profile itsm: Customers → Users, Orgs → Orgs")


def test_revert_needs_csrf(client):
    relabel(client, "Cost Centre")
    change = DictionaryChange.objects.get(name="department")
    client.post(f"/admin/dictionary/history/{change.pk}/revert/")
    assert label() == "Cost Centre"


def test_changes_from_the_command_line_are_recorded_as_such(app):
    with app.app_context():
        add_field("customer", "seats", "Seats", "integer")
    assert DictionaryChange.objects.get(name="seats").actor == "command line"


def test_entity_and_layout_changes_can_be_reverted(client):
    page = client.get("/admin/dictionary/").get_data(as_text=True)
    client.post("/admin/dictionary/profile/", data={"csrf_token": csrf_token(page),
                                                     "profile": "itsm"})
    change = DictionaryChange.objects(kind="entity", entity="customer").first()
    history_page = client.get("/admin/dictionary/history/").get_data(as_text=True)
    client.post(f"/admin/dictionary/history/{change.pk}/revert/",
                data={"csrf_token": csrf_token(history_page)})
    assert "<title>Your Company - Customers - Dictadmin</title>" in \
        client.get("/admin/customer/").get_data(as_text=True)

    url = "/admin/dictionary/layout/customer/Customer/"
    html = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', html).group(1)
    client.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                           "sections": "Only: name, level"})
    assert 'id="email"' not in client.get("/admin/customer/new/").get_data(as_text=True)
    layout_change = DictionaryChange.objects(kind="layout").first()
    client.post(f"/admin/dictionary/history/{layout_change.pk}/revert/",
                data={"csrf_token": csrf_token(history_page)})
    assert 'id="email"' in client.get("/admin/customer/new/").get_data(as_text=True)

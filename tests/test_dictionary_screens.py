"""The dictionary screens: admins change the dictionary live; agents cannot."""

import re

import pytest

from admin_app.dictionary.documents import FieldDefinition
from admin_app.models import Customer

from .helpers import csrf_token, field_error, submit

DEPT = "/admin/dictionary/customer/department/"


def field_form(client, url):
    html = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision"(?: type="hidden")? value="(\d+)"', html).group(1)
    return html, revision


def test_relabel_department_shows_on_the_next_form_and_list(client):
    html, revision = field_form(client, DEPT)
    response = client.post(DEPT, data={"csrf_token": csrf_token(html), "revision": revision,
                                       "label": "Cost Centre"})
    assert response.status_code == 302
    assert 'for="department"' in client.get("/admin/customer/new/").get_data(as_text=True)
    assert "Cost Centre" in client.get("/admin/customer/new/").get_data(as_text=True)
    Customer(name="Ann", level="Customer", department="F1").save()
    assert "Cost Centre" in client.get("/admin/customer/").get_data(as_text=True)


def test_making_mandatory_shows_the_count_first_and_saves_after_confirmation(client):
    Customer(name="No dept", level="Customer").save()
    html, revision = field_form(client, DEPT)
    data = {"csrf_token": csrf_token(html), "revision": revision, "label": "Department",
            "mandatory": ["Customer"]}
    preview = client.post(DEPT, data=data).get_data(as_text=True)
    assert "1 existing records lack a Department; they stay editable" in preview
    assert FieldDefinition.objects.get(entity="customer", name="department").mandatory == []
    saved = client.post(DEPT, data={**data, "confirm": "y"})
    assert saved.status_code == 302
    assert FieldDefinition.objects.get(entity="customer", name="department").mandatory \
        == ["Customer"]
    response = submit(client, "/admin/customer/new/", {"name": "Bo", "level": "Customer"})
    assert field_error(response.get_data(as_text=True), "Department is mandatory.")


def test_concurrent_edit_second_save_is_refused(client):
    html, revision = field_form(client, DEPT)
    first = client.post(DEPT, data={"csrf_token": csrf_token(html), "revision": revision,
                                    "label": "Cost Centre"})
    assert first.status_code == 302
    second = client.post(DEPT, data={"csrf_token": csrf_token(html), "revision": revision,
                                     "label": "Division"})
    assert second.status_code == 409
    assert "Cost Centre was changed by someone else after you opened it" in \
        second.get_data(as_text=True)
    assert FieldDefinition.objects.get(entity="customer", name="department").label \
        == "Cost Centre"


def test_add_custom_field_from_the_screen(client, tmp_path):
    response = submit(client, "/admin/dictionary/customer/new/", {
        "name": "contract_start", "label": "Contract Start", "type": "date",
        "shown_on": ["Customer"], "mandatory": ["Customer"], "list_column": "7"})
    assert response.status_code == 302
    assert 'id="contract_start"' in client.get("/admin/customer/new/").get_data(as_text=True)
    assert 'id="contract_start"' not in client.get("/admin/org/new/").get_data(as_text=True)
    assert "Contract Start" in client.get("/admin/customer/").get_data(as_text=True)
    path = tmp_path / "load.json"
    path.write_text('{"customers": [{"name": "Ann"}, {"name": "Bo", "contract_start": '
                    '"2026-03-01"}], "orgs": [{"name": "Acme"}]}')
    result = client.application.test_cli_runner().invoke(args=["seed", "load", str(path)])
    assert "customers #1 (Ann): Contract Start: Contract Start is mandatory." in result.output
    assert "2 created, 0 updated, 0 unchanged, 1 failed" in result.output
    bad = submit(client, "/admin/dictionary/customer/new/", {
        "name": "cost.centre", "label": "Cost", "type": "text"})
    assert "cannot be a field name" in bad.get_data(as_text=True)


def test_profile_button_switches_terms(client):
    page = client.get("/admin/dictionary/").get_data(as_text=True)
    client.post("/admin/dictionary/profile/", data={"csrf_token": csrf_token(page),
                                                     "profile": "itsm"})
    assert "<title>Your Company - Users - Dictadmin</title>" in \
        client.get("/admin/customer/").get_data(as_text=True)


def test_agents_get_403_on_dictionary_screens(agent_client):
    assert agent_client.get("/admin/dictionary/").status_code == 403
    assert agent_client.get(DEPT).status_code == 403


def test_relabel_entity_renames_menu_list_title_and_create_button_words(client):
    url = "/admin/dictionary/entity/customer/"
    html = client.get(url).get_data(as_text=True)
    response = client.post(url, data={
        "csrf_token": csrf_token(html), "revision": re.search(
            r'name="revision" value="(\d+)"', html).group(1),
        "Customer-singular": "User", "Customer-plural": "Users",
        "Org-singular": "Department", "Org-plural": "Departments"})
    assert response.status_code == 302
    home = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'href="/admin/customer/">\s*Users</a>', home)
    assert re.search(r'href="/admin/org/">\s*Departments</a>', home)
    stale = client.post(url, data={"csrf_token": csrf_token(html), "revision": "1",
                                   "Customer-singular": "Client", "Customer-plural": "Clients",
                                   "Org-singular": "Org", "Org-plural": "Orgs"})
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.get_data(as_text=True)


def test_arrange_layout_moves_fields_and_refuses_dropping_mandatory_ones(client):
    url = "/admin/dictionary/layout/customer/Customer/"
    html, revision = field_form(client, url)
    bad = client.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                                 "sections": "Who: level, org"})
    assert bad.status_code == 409
    assert "Mandatory fields must stay on the Customer form: Name." in bad.get_data(as_text=True)
    ok = client.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                                "sections": "Reach: email, phone_1\nWho: name, level, org"})
    assert ok.status_code == 302
    form = client.get("/admin/customer/new/").get_data(as_text=True)
    assert form.index('id="email"') < form.index('id="name"')
    assert 'id="department"' not in form
    assert "<legend class=\"h5\">Reach</legend>" in form


def test_renaming_a_choice_updates_records_and_removing_one_counts_them(client):
    with client.application.app_context():
        from admin_app.customising.fields import add_field

        add_field("customer", "tier", "Tier", "choice", choices=["Gold", "Silver", "Bronze"],
                  sections={"Customer": "Customer"})
    Customer(name="A", level="Customer", tier="Gold").save()
    Customer(name="B", level="Customer", tier="Bronze").save()
    url = "/admin/dictionary/customer/tier/"
    html, revision = field_form(client, url)
    data = {"csrf_token": csrf_token(html), "revision": revision, "label": "Tier",
            "choices_text": "Gold => Platinum\nSilver", "update_records": "y"}
    preview = client.post(url, data=data).get_data(as_text=True)
    assert "Renaming &#39;Gold&#39; to &#39;Platinum&#39;: 1 records hold &#39;Gold&#39;." \
        in preview
    assert "Removing &#39;Bronze&#39;: 1 records hold it" in preview
    assert Customer.objects.get(name="A").tier == "Gold"
    assert client.post(url, data={**data, "confirm": "y"}).status_code == 302
    assert FieldDefinition.objects.get(name="tier").choices == ["Platinum", "Silver"]
    assert Customer.objects.get(name="A").tier == "Platinum"
    assert Customer.objects.get(name="B").tier == "Bronze", "removal never erases data"


def test_range_and_default_are_previewed_then_enforced_by_form_and_importer(client, tmp_path):
    with client.application.app_context():
        from admin_app.customising.fields import add_field

        add_field("customer", "seats", "Seats", "integer", sections={"Customer": "Customer"})
    Customer(name="A", level="Customer", seats=0).save()
    Customer(name="B", level="Customer", seats=600).save()
    Customer(name="C", level="Customer", seats=20).save()
    url = "/admin/dictionary/customer/seats/"
    html, revision = field_form(client, url)
    data = {"csrf_token": csrf_token(html), "revision": revision, "label": "Seats",
            "minimum": "1", "maximum": "500", "default": "10"}
    preview = client.post(url, data=data).get_data(as_text=True)
    assert "2 existing values are outside the new range." in preview
    assert client.post(url, data={**data, "confirm": "y"}).status_code == 302

    new = client.get("/admin/customer/new/").get_data(as_text=True)
    assert re.search(r'id="seats"[^>]*value="10"', new)
    response = submit(client, "/admin/customer/new/", {"name": "D", "level": "Customer",
                                                       "seats": "501"})
    assert field_error(response.get_data(as_text=True), "Seats must be between 1 and 500.")
    bad = client.post(url, data={**data, "minimum": "one"})
    assert "Minimum (numbers and dates) must be a whole number." in bad.get_data(as_text=True)

    path = tmp_path / "seats.json"
    path.write_text('{"customers": [{"name": "E", "seats": 0}]}')
    result = client.application.test_cli_runner().invoke(args=["seed", "load", str(path)])
    assert "customers #1 (E): Seats: Seats must be between 1 and 500." in result.output


def test_type_change_is_refused_with_the_count_unless_values_are_kept_aside(client):
    Customer(name="A", level="Customer", location="12").save()
    Customer(name="B", level="Customer", location="Building 7").save()
    url = "/admin/dictionary/customer/location/type/"
    html, revision = field_form(client, url)
    refused = client.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                                     "type": "integer"})
    assert refused.status_code == 409
    assert "1 existing records hold a Location that is not a valid integer" in \
        refused.get_data(as_text=True)
    assert FieldDefinition.objects.get(name="location", entity="customer").type == "text"

    done = client.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                                  "type": "integer", "keep_unconverted": "y"})
    assert done.status_code == 302
    assert FieldDefinition.objects.get(name="location", entity="customer").type == "integer"
    assert Customer.objects.get(name="A").location == 12
    b = Customer.objects.get(name="B")
    assert b.location_old == "Building 7" and getattr(b, "location", None) is None
    backup = FieldDefinition.objects.get(entity="customer", name="location_old")
    assert backup.retired is True and backup.label == "Location (before integer)"
    a_id = Customer.objects.get(name="A").pk
    assert 'value="12"' in client.get(f"/admin/customer/edit/?id={a_id}").get_data(as_text=True)


def test_an_invalid_pattern_is_refused_and_forms_keep_working(client):
    html, revision = field_form(client, DEPT)
    response = client.post(DEPT, data={"csrf_token": csrf_token(html), "revision": revision,
                                       "label": "Department", "pattern": "([A-Z"})
    assert response.status_code == 409
    assert "The pattern is not a valid regular expression" in response.get_data(as_text=True)
    assert client.get("/admin/customer/new/").status_code == 200


def test_the_level_choices_are_fixed_and_their_words_live_under_words(client):
    from admin_app.customising.checked import DictionaryError
    from admin_app.customising.fields import update_field

    html = client.get("/admin/dictionary/customer/level/").get_data(as_text=True)
    assert 'name="choices_text"' not in html and 'id="fixed-choices"' in html
    with client.application.app_context(), \
            pytest.raises(DictionaryError, match="choices are fixed"):
        update_field("customer", "level", choices=["Customer", "Organisation"])
    # Relabelling the field itself still works from the screen.
    _page, revision = field_form(client, "/admin/dictionary/customer/level/")
    response = submit(client, "/admin/dictionary/customer/level/",
                      {"label": "Kind", "mandatory": ["Customer", "Org"], "revision": revision})
    assert response.status_code == 302
    assert FieldDefinition.objects.get(entity="customer", name="level").choices == \
        ["Customer", "Org"]

"""Core record behaviour, on both mongomock and the embedded on-disk store."""

import re
from html import unescape

from admin_app.customising.fields import update_field
from admin_app.models import Contact, Customer

from .helpers import csrf_token, field_error, opened_state, submit


def new_org(name="Acme Ltd", **values):
    return Customer(name=name, level="Org", **values).save()


def test_customer_without_mandatory_field_is_refused_with_its_label(store_client):
    with store_client.application.app_context():
        update_field("customer", "department", mandatory=["Customer"])
    response = submit(store_client, "/admin/customer/new/",
                      {"name": "Ann Lee", "level": "Customer", "department": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_error(html, "Department is mandatory.")
    assert Customer.objects.count() == 0


def test_customer_with_mandatory_fields_is_saved_and_listed(store_client):
    org = new_org()
    response = submit(store_client, "/admin/customer/new/", {
        "name": "Ann Lee", "level": "Customer", "org": str(org.pk), "department": "Finance",
        "email": "ann@example.com", "expiry_date": "2027-01-31", "_ok": "OK"})
    assert response.status_code == 302
    saved = Customer.objects.get(name="Ann Lee")
    assert (saved.level, saved.org, saved.department) == ("Customer", org.pk, "Finance")
    assert saved.expiry_date.year == 2027
    listing = store_client.get("/admin/customer/").get_data(as_text=True)
    assert "Ann Lee" in listing and "Finance" in listing and "Acme Ltd" in listing


def test_email_is_kept_in_lower_case_so_it_identifies_the_customer(store_client):
    response = submit(store_client, "/admin/customer/new/", {
        "name": "Ann Lee", "level": "Customer", "email": "Ann.Lee@Example.COM", "_ok": "OK"})
    assert response.status_code == 302
    assert Customer.objects.get(name="Ann Lee").email == "ann.lee@example.com"


def test_invalid_values_are_reported_next_to_the_field(store_client):
    response = submit(store_client, "/admin/customer/new/",
                      {"name": "Ann Lee", "level": "Customer", "email": "not-an-email"})
    assert field_error(response.get_data(as_text=True), "Email must be an email address.")
    assert Customer.objects.count() == 0


def test_mandatory_fields_are_marked_on_the_form(store_client):
    html = store_client.get("/admin/customer/new/").get_data(as_text=True)
    name_label = re.search(r'<label for="name"[^>]*>(.*?)</label>', html, re.S).group(1)
    dept_label = re.search(r'<label for="department"[^>]*>(.*?)</label>', html, re.S).group(1)
    assert "text-danger" in name_label
    assert "text-danger" not in dept_label


def test_switching_level_to_org_shows_org_layout_and_keeps_typed_values(store_client):
    page = store_client.get("/admin/customer/new/").get_data(as_text=True)
    assert 'name="department"' in page and 'name="org"' in page
    # What choosing does is said before it is chosen (WCAG 3.2.2), and read with the switch.
    switch = re.search(r'<select[^>]*data-level-switch[^>]*>', page).group(0)
    assert 'aria-describedby="level-advice"' in switch
    assert re.search(r'id="level-advice">Choosing another Level redraws the form with its '
                     r'fields; what you typed is kept, and nothing is saved until you press '
                     r'Save\.<', page)
    response = store_client.post("/admin/customer/new/", data={
        "csrf_token": csrf_token(page), "_level_switch": "1", "level": "Org",
        "name": "Globex", "email": "info@globex.example", "department": "Sales"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="address"' in html and 'id="department"' not in html and 'id="org"' not in html
    assert 'value="Globex"' in html and 'value="info@globex.example"' in html
    # The value typed in a field the Org layout hides travels along, not lost.
    assert '<input type="hidden" name="department" value="Sales">' in html
    assert Customer.objects.count() == 0, "switching Level must not save"
    # Nothing was tried, so nothing failed: no error, a quiet note, the Org words.
    assert "Failed to create record" not in html and "alert-danger" not in html
    assert "Showing the Org form; nothing has been saved yet." in html
    assert re.search(r'id="record-heading">\s*New Org\s*<', html)

    back = store_client.post("/admin/customer/new/", data={
        "csrf_token": csrf_token(html), "_level_switch": "1", "level": "Customer",
        "name": "Globex", "email": "info@globex.example", "department": "Sales"})
    assert 'id="department"' in back.get_data(as_text=True)
    assert 'value="Sales"' in back.get_data(as_text=True)


def test_record_saved_as_org_is_listed_under_orgs_not_customers(store_client):
    response = submit(store_client, "/admin/customer/new/", {
        "name": "Globex", "level": "Org", "address": "1 Main St", "_ok": "OK"})
    assert response.status_code == 302
    assert Customer.objects.get(name="Globex").level == "Org"
    assert "Globex" in store_client.get("/admin/org/").get_data(as_text=True)
    assert "Globex" not in store_client.get("/admin/customer/").get_data(as_text=True)


def test_ok_returns_to_the_list_and_save_stays_on_the_record(store_client):
    ok = submit(store_client, "/admin/customer/new/?url=/admin/customer/",
                {"name": "Ann Lee", "level": "Customer", "_ok": "OK"})
    assert ok.headers["Location"] == "/admin/customer/"
    save = submit(store_client, "/admin/customer/new/?url=/admin/customer/",
                  {"name": "Bo Chan", "level": "Customer", "_continue_editing": "Save"})
    bo = Customer.objects.get(name="Bo Chan")
    assert save.headers["Location"].startswith(f"/admin/customer/edit/?id={bo.pk}")

    edit_url = f"/admin/customer/edit/?id={bo.pk}&url=/admin/customer/"
    stay = submit(store_client, edit_url, {"name": "Bo Chan", "level": "Customer",
                                           "department": "IT", "_continue_editing": "Save"})
    assert stay.headers["Location"].startswith(f"/admin/customer/edit/?id={bo.pk}")
    back = submit(store_client, edit_url, {"name": "Bo Chan", "level": "Customer",
                                           "department": "Ops", "_ok": "OK"})
    assert back.headers["Location"] == "/admin/customer/"
    assert Customer.objects.get(pk=bo.pk).department == "Ops"


def test_archive_hides_from_the_list_and_unticking_restores(store_client):
    ann = Customer(name="Ann Lee", level="Customer").save()
    edit_url = f"/admin/customer/edit/?id={ann.pk}"
    submit(store_client, edit_url, {"name": "Ann Lee", "level": "Customer", "archived": "y",
                                    "_ok": "OK"})
    assert Customer.objects.get(pk=ann.pk).archived is True
    assert "Ann Lee" not in store_client.get("/admin/customer/").get_data(as_text=True)
    archived_url = archived_tab(store_client.get("/admin/customer/").get_data(as_text=True))
    archived_list = store_client.get(archived_url).get_data(as_text=True)
    assert "Ann Lee" in archived_list

    submit(store_client, edit_url, {"name": "Ann Lee", "level": "Customer", "_ok": "OK"})
    assert Customer.objects.get(pk=ann.pk).archived is False
    assert "Ann Lee" in store_client.get("/admin/customer/").get_data(as_text=True)
    assert "Ann Lee" not in store_client.get(archived_url).get_data(as_text=True)


def archived_tab(html):
    return unescape(re.search(r'href="([^"]+)" id="show-archived"', html).group(1))


def test_the_archived_tab_keeps_listing_archived_records_across_pages(store_client):
    for number in range(25):
        Customer(name=f"Old {number:02d}", level="Customer", archived=True).save()
    first = store_client.get(archived_tab(store_client.get("/admin/customer/").get_data(
        as_text=True))).get_data(as_text=True)
    assert "Old 00" in first and "Old 24" not in first
    second = unescape(re.search(r'href="([^"]*page=1[^"]*)"', first).group(1))
    assert "Old 24" in store_client.get(second).get_data(as_text=True)


def test_switching_level_on_an_edit_page_shows_that_level_and_saves_nothing(store_client):
    ann = Customer(name="Ann Lee", level="Customer", department="IT").save()
    url = f"/admin/customer/edit/?id={ann.pk}"
    page = store_client.get(url).get_data(as_text=True)
    assert re.search(r'id="record-heading">\s*Customer: Ann Lee\s*<', page)
    html = store_client.post(url, data={"csrf_token": csrf_token(page), **opened_state(page),
                                        "_level_switch": "1", "level": "Org", "name": "Ann Lee"}
                             ).get_data(as_text=True)
    assert re.search(r'id="record-heading">\s*Org: Ann Lee\s*<', html)
    assert 'id="address"' in html and "alert-danger" not in html
    assert Customer.objects.get(pk=ann.pk).level == "Customer"


def test_no_hard_delete_from_the_ui(store_client):
    ann = Customer(name="Ann Lee", level="Customer").save()
    listing = store_client.get("/admin/customer/").get_data(as_text=True)
    assert "/admin/customer/delete/" not in listing
    store_client.post("/admin/customer/delete/", data={"id": str(ann.pk)})
    assert Customer.objects(pk=ann.pk).count() == 1


def test_record_shows_linked_contacts_and_contact_links_to_org(store_client):
    org = new_org("Initech")
    response = submit(store_client, f"/admin/contact/new/?customer={org.pk}", {
        "name": "Peter Gibbons", "customer": str(org.pk), "job_title": "Engineer", "_ok": "OK"})
    assert response.status_code == 302
    contact = Contact.objects.get(name="Peter Gibbons")
    assert contact.customer == org.pk
    page = store_client.get(f"/admin/org/edit/?id={org.pk}").get_data(as_text=True)
    contacts_panel = page[page.index('id="linked-contacts"'):]
    assert "Peter Gibbons" in contacts_panel and "Engineer" in contacts_panel
    assert "Initech" in store_client.get("/admin/contact/").get_data(as_text=True)


def test_new_contact_from_a_record_is_prefilled_with_that_record(store_client):
    org = new_org("Initech")
    html = store_client.get(f"/admin/contact/new/?customer={org.pk}").get_data(as_text=True)
    assert "Initech" in html and str(org.pk) in html


def test_search_finds_by_dictionary_searchable_fields_literally(store_client):
    Customer(name="Ann Lee", level="Customer", department="Finance (EU)").save()
    Customer(name="Bo Chan", level="Customer", department="Sales").save()
    found = store_client.get("/admin/customer/?search=finance (eu").get_data(as_text=True)
    assert "Ann Lee" in found and "Bo Chan" not in found
    regex = store_client.get("/admin/customer/?search=.*").get_data(as_text=True)
    assert "Ann Lee" not in regex and "Bo Chan" not in regex


def test_a_field_made_searchable_is_searched_at_once_and_no_longer_when_unmade(
        store_client):
    Customer(name="Ann Lee", level="Customer", location="Sheffield HQ").save()
    Customer(name="Bo Chan", level="Customer", location="Leeds").save()
    assert "Ann Lee" not in store_client.get("/admin/customer/?search=sheff").get_data(
        as_text=True)
    update_field("customer", "location", searchable=True)
    found = store_client.get("/admin/customer/?search=sheff").get_data(as_text=True)
    assert "Ann Lee" in found and "Bo Chan" not in found
    update_field("customer", "location", searchable=False)
    assert "Ann Lee" not in store_client.get("/admin/customer/?search=sheff").get_data(
        as_text=True)


def test_a_searchable_field_unmade_on_a_store_setup_never_saw_is_no_longer_searched(
        store_client):
    """No upkeep marker says which fields were keyed (a store `flask setup` has not
    run on): making Department unsearchable must still take its words out of the keys."""
    from admin_app import store
    from admin_app.records import upkeep

    Customer(name="Ann Lee", level="Customer", department="Finance").save()
    assert store.database()[upkeep.MARKER].count_documents({}) == 0
    assert "Ann Lee" in store_client.get("/admin/customer/?search=fin").get_data(as_text=True)
    update_field("customer", "department", searchable=False)
    assert "Ann Lee" not in store_client.get("/admin/customer/?search=fin").get_data(
        as_text=True)
    assert "Ann Lee" in store_client.get("/admin/customer/?search=ann").get_data(as_text=True)


def test_list_is_paginated(store_client):
    Customer.objects.insert([Customer(name=f"Customer {i:03d}", level="Customer")
                             for i in range(45)])
    first = store_client.get("/admin/customer/?sort=0").get_data(as_text=True)
    assert "Customer 000" in first and "Customer 019" in first and "Customer 020" not in first
    third = store_client.get("/admin/customer/?sort=0&page=2").get_data(as_text=True)
    assert "Customer 040" in third and "Customer 039" not in third


def test_edit_of_unknown_record_says_so(store_client):
    response = store_client.get("/admin/customer/edit/?id=not-an-id", follow_redirects=True)
    assert "Record does not exist." in response.get_data(as_text=True)


def test_user_text_is_escaped_on_the_form_and_in_the_list(store_client):
    ann = Customer(name="Ann <img src=x onerror=alert(1)>", level="Customer",
                   department="<b>Sales</b>", news="<script>alert('news')</script>").save()
    listing = store_client.get("/admin/customer/").get_data(as_text=True)
    assert "<b>Sales</b>" not in listing and "&lt;b&gt;Sales&lt;/b&gt;" in listing
    assert "<img src=x" not in listing
    form = store_client.get(f"/admin/customer/edit/?id={ann.pk}").get_data(as_text=True)
    assert "<script>alert('news')</script>" not in form
    assert "&lt;script&gt;alert(" in form


def test_markup_in_help_text_and_labels_is_shown_as_text(store_client):
    with store_client.application.app_context():
        update_field("customer", "department", label='Dept "><img src=x onerror=alert(1)>',
                     help_text="<script>alert(1)</script> Where they work")
    html = store_client.get("/admin/customer/new/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Where they work" in html
    assert "Dept &#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_an_org_that_no_longer_exists_is_an_error_not_a_blank(store_client):
    """ReferenceField reads AjaxSelectField's `_formdata` (a Flask-Admin internal)."""
    response = submit(store_client, "/admin/customer/new/", {
        "name": "Ann Lee", "level": "Customer", "org": "ffffffffffffffffffffffff", "_ok": "OK"})
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True),
                       "The chosen Org no longer exists; choose again.")
    assert Customer.objects(name="Ann Lee").count() == 0

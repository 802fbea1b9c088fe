"""Solution profiles switch the screens' terms, and back."""

import re


def menu_word(client, endpoint):
    html = client.get("/admin/").get_data(as_text=True)
    return re.search(rf'href="/admin/{endpoint}/">\s*(\w+)</a>', html).group(1)


def test_itsm_profile_says_users_and_csm_switches_back(client):
    runner = client.application.test_cli_runner()
    result = runner.invoke(args=["dictionary", "profile", "itsm"])
    assert result.exit_code == 0, result.output
    assert "customer: Customers → Users, Orgs → Orgs" in result.output
    assert menu_word(client, "customer") == "Users"
    assert "User / Org" in client.get("/admin/contact/new/").get_data(as_text=True)

    back = runner.invoke(args=["dictionary", "profile", "csm"])
    assert back.exit_code == 0
    assert menu_word(client, "customer") == "Customers"
    again = runner.invoke(args=["dictionary", "profile", "csm"])
    assert "Profile csm was already in use." in again.output


def test_cafm_profile_names_tenants_and_contractors(client):
    client.application.test_cli_runner().invoke(args=["dictionary", "profile", "cafm"])
    assert menu_word(client, "customer") == "Tenants"
    assert menu_word(client, "org") == "Contractors"


def test_unknown_profile_and_listing(runner):
    listing = runner.invoke(args=["dictionary", "profile"])
    assert "itsm" in listing.output and "cafm" in listing.output and "demo-" not in listing.output
    result = runner.invoke(args=["dictionary", "profile", "erp"])
    assert result.exit_code == 1
    assert "There is no profile 'erp'; choose one of cafm, csm, itsm." in result.output


def selected_profile(client):
    html = client.get("/admin/dictionary/").get_data(as_text=True)
    select = re.search(r'<select name="profile".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="(\w*)"[^>]*\bselected>', select).group(1), html


def test_profile_selector_shows_the_profile_in_force_or_custom(client):
    # A fresh store has the default (CSM) terms, and the selector says so, not CAFM.
    chosen, html = selected_profile(client)
    assert chosen == "csm" and "In force: CSM" in html

    client.application.test_cli_runner().invoke(args=["dictionary", "profile", "itsm"])
    assert selected_profile(client)[0] == "itsm"

    from admin_app.customising.fields import update_field
    with client.application.app_context():
        update_field("customer", "name", label="Full name")
    chosen, html = selected_profile(client)
    assert chosen == "" and "In force: custom terms" in html


def test_the_level_drop_down_uses_the_words_of_the_profile(client):
    client.application.test_cli_runner().invoke(args=["dictionary", "profile", "cafm"])
    html = client.get("/admin/customer/new/").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="level".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option[^>]*value="(\w+)"[^>]*>([^<]*)</option>', select) == [
        ("Customer", "Tenant"), ("Org", "Contractor")]

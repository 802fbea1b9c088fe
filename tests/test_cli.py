"""`flask setup` (what `make run` calls), demo data and logins."""

import re

import mongoengine

from admin_app.models import Contact, Customer, User

from .conftest import make_app
from .helpers import login


def test_setup_loads_demo_once_and_prints_how_to_sign_in(tmp_path):
    app = make_app(tmp_path, "embedded", ADMIN_PASSWORD=None, ADMIN_EMAIL="boss@example.com")
    User.objects.delete()  # as on a brand-new store
    runner = app.test_cli_runner()
    first = runner.invoke(args=["setup"])
    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:5000/admin/" in first.output
    password = re.search(r"Sign in as boss@example.com with password (\S+)", first.output).group(1)
    assert Customer.objects(level="Org").count() == 3
    assert Customer.objects(level="Customer").count() == 7
    assert Contact.objects.count() == 3
    with app.test_client() as client:
        assert login(client, "boss@example.com", password).status_code == 302
        assert "Acme Manufacturing" in client.get("/admin/org/").get_data(as_text=True)

    again = runner.invoke(args=["setup"])
    assert again.exit_code == 0
    assert "with password" not in again.output, "the password is shown once only"
    assert Customer.objects.count() == 10, "demo data is not loaded twice"
    mongoengine.disconnect()


def test_demo_links_customers_to_orgs_and_contacts_to_records(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    acme = Customer.objects.get(name="Acme Manufacturing")
    assert Customer.objects(org=acme.pk).count() == 3
    assert Contact.objects.get(name="Priya Patel").customer == acme.pk
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 1
    assert "demo data loads only into an empty store" in again.output


def test_user_create_makes_an_agent_who_can_sign_in(app, runner):
    result = runner.invoke(args=["user", "create", "agent@example.com"],
                           input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert User.objects.get(email="agent@example.com").role == "agent"
    with app.test_client() as client:
        assert login(client, "agent@example.com", "s3cret-pass").status_code == 302
    duplicate = runner.invoke(args=["user", "create", "agent@example.com"],
                              input="x\nx\n")
    assert "already exists" in duplicate.output

"""`flask setup` (what `make run` calls), demo data and logins."""

import re

import mongoengine

from admin_app.models import Contact, Customer, User
from admin_app.security.audit import AuditEvent

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


def test_setup_says_when_the_embedded_store_has_outgrown_itself_and_how_to_move(
        tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDDED_COMFORT_RECORDS", "12")  # the setting, as the README gives it
    app = make_app(tmp_path, "embedded")
    runner = app.test_cli_runner()
    demo = runner.invoke(args=["setup"])  # the demo: 13 records, one past the line
    assert demo.exit_code == 0, demo.output
    assert "The embedded store holds 13 records" in demo.output
    assert "store copy --to mongodb://" in demo.output and "MONGODB_URI=" in demo.output
    Customer.objects(name="Bob Singh").delete()
    quiet = runner.invoke(args=["setup"])
    assert quiet.exit_code == 0 and "embedded store holds" not in quiet.output
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


def test_user_create_prompts_twice_and_makes_an_agent_who_can_sign_in(app, runner):
    result = runner.invoke(args=["user", "create", "Agent@Example.com"],
                           input="s3cret-pass-phrase\ns3cret-pass-phrase\n")
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output and "Repeat for confirmation:" in result.output
    assert "s3cret-pass-phrase" not in result.output, "the prompt does not echo"
    user = User.objects.get(email="agent@example.com")
    assert user.role == "agent"
    assert "s3cret-pass-phrase" not in user.password_hash
    entry = AuditEvent.objects.get(event="login_created")
    assert (entry.subject, entry.area) == ("agent@example.com", "cli")
    with app.test_client() as client:
        assert login(client, "agent@example.com", "s3cret-pass-phrase").status_code == 302
    duplicate = runner.invoke(args=["user", "create", "agent@example.com"],
                              input="another-good-phrase\nanother-good-phrase\n")
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output


def test_user_create_takes_no_password_on_the_command_line(runner):
    for args in (["--password", "s3cret-pass-phrase"], ["s3cret-pass-phrase"]):
        result = runner.invoke(args=["user", "create", "agent@example.com", *args])
        assert result.exit_code == 2, result.output
    assert User.objects(email="agent@example.com").count() == 0


def test_user_create_refuses_weak_passwords_with_the_reasons(runner):
    cases = {
        "x": "at least 12 characters",
        "password1234": "one of the most common passwords",
        "agent@example.com": "must not be the email address",
        "aaaaaaaaaaaaaaaa": "too easy to guess",
    }
    for password, reason in cases.items():
        result = runner.invoke(args=["user", "create", "agent@example.com"],
                               input=f"{password}\n{password}\n")
        assert result.exit_code == 1, (password, result.output)
        assert "That password cannot be used." in result.output
        assert reason in result.output, (password, result.output)
    mismatch = runner.invoke(args=["user", "create", "agent@example.com"],
                             input="s3cret-pass-phrase\nsomething-else-1\n")
    assert mismatch.exit_code != 0
    assert User.objects(email="agent@example.com").count() == 0


def test_user_create_refuses_a_webguest_or_an_address_that_is_not_an_email(runner):
    result = runner.invoke(args=["user", "create", "guest@example.com", "--role", "webguest"],
                           input="s3cret-pass-phrase\ns3cret-pass-phrase\n")
    assert result.exit_code == 2
    result = runner.invoke(args=["user", "create", "not-an-email"],
                           input="s3cret-pass-phrase\ns3cret-pass-phrase\n")
    assert result.exit_code == 1
    assert "is not an email address" in result.output
    assert User.objects(role__in=["agent", "webguest"]).count() == 0


def test_setup_refuses_a_weak_admin_password_and_writes_nothing(tmp_path):
    app = make_app(tmp_path, ADMIN_PASSWORD="admin123", ADMIN_EMAIL="boss@example.com")
    User.objects.delete()  # as on a brand-new store
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 1, result.output
    assert "ADMIN_PASSWORD cannot be used as the first admin's password." in result.output
    assert "at least 12 characters" in result.output
    assert User.objects.count() == 0
    assert Customer.objects.count() == 0, "nothing is loaded before the password is refused"
    mongoengine.disconnect()


def test_setup_takes_a_good_admin_password(tmp_path):
    app = make_app(tmp_path, ADMIN_PASSWORD="a long admin passphrase",
                   ADMIN_EMAIL="boss@example.com")
    User.objects.delete()
    result = app.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "with the password in ADMIN_PASSWORD" in result.output
    with app.test_client() as client:
        assert login(client, "boss@example.com", "a long admin passphrase").status_code == 302
    mongoengine.disconnect()

"""Closure notices by mail, against a real SMTP server (aiosmtpd) the tests start.

What must hold: closing sends the notice with News on Closure; a server that is down,
refusing or slow never stops the ticket closing, and the notice waits in the outbox
with the reason in words; `mail retry` and the Outbox screen deliver it later, and
nothing is ever sent twice, even when two senders race.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import mongoengine
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from admin_app.mail import OutboxMessage, deliver, notify_closure
from admin_app.models import Customer, Ticket
from admin_app.models.kept import now

from . import processes
from .conftest import make_app
from .helpers import csrf_token, login
from .servers import free_port, self_signed_certificate, smtp_server

CUSTOMER_NEWS = "Your new laptop arrives on Monday."
ORG_NEWS = "Acme's offices close early on Friday."
PASSWORD = "s3cret-smtp-Pa55"


def closed_ticket(email: str | None = "alice.carter@acme.example",
                  customer_news: str = CUSTOMER_NEWS, org_news: str = ORG_NEWS) -> Ticket:
    """A ticket saved closed, as the ticket screens leave it before calling notify_closure."""
    org = Customer(name="Acme Manufacturing", level="Org", news_on_closure=org_news).save()
    customer = Customer(name="Alice Carter", level="Customer", org=org.pk,
                        news_on_closure=customer_news).save()
    return Ticket(customer=customer.pk, summary="Printer jams on floor 2", status="closed",
                  closed_at=now(), email=email).save()


def use_server(app, port: int, **settings) -> None:
    app.config.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TIMEOUT": 5,
                       **settings})


def only_message() -> OutboxMessage:
    messages = list(OutboxMessage.objects)
    assert len(messages) == 1, messages
    return messages[0]


def body_of(mail) -> str:
    return mail.get_content().replace("\r\n", "\n")  # as sent: SMTP lines end in CRLF


# -- closing sends the notice -----------------------------------------------------------------

def test_closing_sends_a_mail_holding_the_customers_and_orgs_news_on_closure(store_app):
    with smtp_server() as server, store_app.app_context():
        use_server(store_app, server.port, MAIL_FROM="desk@example.com")
        ticket = closed_ticket()
        message = notify_closure(ticket)
        assert message is not None and message.status == "sent", message.last_error
        assert message.attempts == 1 and message.sent_at and message.last_error is None
        assert message.key.startswith(f"closure:{ticket.pk}:") and message.ticket == ticket.pk
    assert len(server.messages) == 1
    mail = server.messages[0]
    assert mail["To"] == "alice.carter@acme.example" and mail["From"] == "desk@example.com"
    assert "Printer jams on floor 2" in mail["Subject"]
    body = body_of(mail)
    assert "has been closed" in body and "Summary: Printer jams on floor 2" in body
    assert f"News on Closure (Customer: Alice Carter):\n{CUSTOMER_NEWS}" in body
    assert f"News on Closure (Org: Acme Manufacturing):\n{ORG_NEWS}" in body


def test_a_customer_without_news_on_closure_gets_the_notice_without_that_section(app):
    with smtp_server() as server, app.app_context():
        use_server(app, server.port)
        notify_closure(closed_ticket(customer_news="", org_news=""))
    assert len(server.messages) == 1
    assert "News on Closure" not in body_of(server.messages[0])


def test_the_same_closing_is_queued_and_sent_once_a_second_closing_notifies_again(app):
    with smtp_server() as server, app.app_context():
        use_server(app, server.port)
        ticket = closed_ticket()
        first = notify_closure(ticket)
        ticket.reload()  # as stored: the closing time to the millisecond
        assert notify_closure(ticket).pk == first.pk
        assert OutboxMessage.objects.count() == 1 and len(server.messages) == 1
        ticket.closed_at = now() + timedelta(hours=1)  # reopened, then closed again
        ticket.save()
        assert notify_closure(ticket).pk != first.pk
    assert len(server.messages) == 2


# -- when mail cannot go out, the ticket still closes ----------------------------------------

def test_with_no_server_listening_the_notice_waits_and_retry_delivers_it_exactly_once(store_app):
    runner = store_app.test_cli_runner()
    port = free_port()  # nobody listens here
    with store_app.app_context():
        use_server(store_app, port)
        message = notify_closure(closed_ticket())  # returns; does not raise
        assert message.status == "queued" and message.attempts == 1
        assert message.last_error == (f"Nothing answers at 127.0.0.1:{port}: the mail "
                                      f"server refused the connection.")
        assert Ticket.objects.get().status == "closed"

        failing = runner.invoke(args=["mail", "retry"])
        assert failing.exit_code == 1, failing.output
        assert "still failing: Nothing answers at" in failing.output

        with smtp_server() as server:
            use_server(store_app, server.port)
            first = runner.invoke(args=["mail", "retry"])
            second = runner.invoke(args=["mail", "retry"])
        assert first.exit_code == 0, first.output
        assert "alice.carter@acme.example: 'Ticket closed: Printer jams on floor 2': sent" \
            in first.output
        assert second.exit_code == 0 and "No message is waiting" in second.output
        message.reload()
        assert message.status == "sent" and message.attempts == 3 and not message.claimed_by
    assert len(server.messages) == 1


def test_a_server_that_never_answers_times_out_in_words(app):
    with socket.socket() as silent, app.app_context():
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts the connection, never greets
        use_server(app, silent.getsockname()[1], SMTP_TIMEOUT=0.3)
        message = notify_closure(closed_ticket())
    assert message.status == "queued"
    assert message.last_error.endswith("did not answer within 0.3 seconds.")


def test_without_smtp_host_the_notice_waits_for_configuration(app):
    with app.app_context():
        message = notify_closure(closed_ticket())
        assert message.status == "queued" and message.attempts == 0
        assert message.last_error.startswith("Mail is not configured (SMTP_HOST is not set)")
        result = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 1 and "still waiting: Mail is not configured" in result.output


def test_a_ticket_without_an_email_is_recorded_as_not_sendable(app):
    with smtp_server() as server, app.app_context():
        use_server(app, server.port)
        message = notify_closure(closed_ticket(email=None))
        assert message.status == "failed" and message.attempts == 0
        assert message.last_error == ("The ticket has no email address, so the closure "
                                      "notice cannot be sent.")
        assert notify_closure(closed_ticket(email="not an address")).status == "failed"
        result = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "2 notice(s) cannot be sent at all" in result.output
    assert server.messages == []


def test_an_open_ticket_gets_no_notice(app):
    with app.app_context():
        ticket = closed_ticket()
        ticket.update(set__status="open")
        ticket.reload()
        assert notify_closure(ticket) is None and OutboxMessage.objects.count() == 0


def test_starttls_asked_for_but_not_offered_sends_nothing_in_the_clear(app):
    with smtp_server() as server, app.app_context():
        use_server(app, server.port, SMTP_STARTTLS=True)
        message = notify_closure(closed_ticket())
    assert message.status == "queued" and "STARTTLS" in message.last_error
    assert server.messages == []


def test_starttls_encrypts_before_sending_and_checks_the_certificate(app, tmp_path, monkeypatch):
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(certificate=certificate) as server, app.app_context():
        use_server(app, server.port, SMTP_STARTTLS=True)
        untrusted = notify_closure(closed_ticket())
        assert untrusted.status == "queued" and "certificate verify failed" in \
            untrusted.last_error
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now trusted
        assert deliver(untrusted).text == "sent"
    assert len(server.messages) == 1


# -- nothing is sent twice -------------------------------------------------------------------

def test_a_retry_while_the_first_attempt_is_sending_does_not_send_it_again(app):
    """The first attempt holds the claim while the (slow) server takes the message."""
    with smtp_server(delay=1.0) as server, app.app_context():
        use_server(app, server.port)
        ticket = closed_ticket()

        def close() -> None:
            with app.app_context():
                notify_closure(ticket)

        first = threading.Thread(target=close, daemon=True)
        first.start()
        deadline = time.monotonic() + 5
        while not OutboxMessage.objects(claimed_by__ne=None).count():
            assert time.monotonic() < deadline, "the first attempt never claimed the message"
            time.sleep(0.01)
        racing = app.test_cli_runner().invoke(args=["mail", "retry"])
        first.join()
        assert racing.exit_code == 0, racing.output
        assert "being sent by another process; not sent again" in racing.output
        assert only_message().status == "sent"
        again = app.test_cli_runner().invoke(args=["mail", "retry"])
        assert "No message is waiting" in again.output
    assert len(server.messages) == 1


def test_two_senders_at_once_send_one_copy(app):
    with app.app_context():
        app.config["SMTP_HOST"] = None
        notify_closure(closed_ticket())  # waits: mail not configured yet
    outcomes = []
    with smtp_server(delay=0.5) as server:
        use_server(app, server.port)
        start = threading.Barrier(2)

        def retry() -> None:
            with app.app_context():
                start.wait()
                outcomes.append(deliver(only_message()))

        senders = [threading.Thread(target=retry, daemon=True) for _ in range(2)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    assert len(server.messages) == 1
    assert sorted(o.text for o in outcomes) == [
        "being sent by another process; not sent again by this one", "sent"]


def test_two_retry_processes_at_once_on_the_embedded_store_send_one_copy(tmp_path):
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            notify_closure(closed_ticket())  # SMTP_HOST unset: it waits
        with smtp_server(delay=1.0) as server:
            env = {**os.environ, "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "test",
                   "SMTP_HOST": server.host, "SMTP_PORT": str(server.port)}
            env.pop("MONGODB_URI", None)
            retries = [subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "admin_app", "mail", "retry"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(2)]
            outputs = [process.communicate(timeout=60)[0] for process in retries]
        assert [p.returncode for p in retries] == [0, 0], outputs
        assert len(server.messages) == 1, outputs
        assert sum(": sent" in out for out in outputs) \
            + sum("No message is waiting" in out or "another process" in out
                  for out in outputs) == 2, outputs
        with app.app_context():
            assert only_message().status == "sent"
    finally:
        mongoengine.disconnect()


# Queue one notice (the same key) from a process of its own; say which copy is stored.
_QUEUE = """
from admin_app.mail import OutboxMessage, outbox

[body] = ARGS
with app.app_context():
    OutboxMessage.objects(key="closure:1").first()  # connected before the start
    start_together()
    stored = outbox.queue(OutboxMessage(key="closure:1", kind="closure", subject="Closed",
                                        to="alice.carter@acme.example", body=body))
    print(stored.body)
"""


def test_four_processes_queueing_one_notice_at_once_store_it_once(tmp_path):
    """Four workers of the embedded store queue the same notice at one instant, with no
    lock: the unique index on its key lets one insert through, and the others are given
    that one."""
    app = make_app(tmp_path, "embedded")
    try:
        outputs = processes.at_once(app, _QUEUE, [[f"copy {n}"] for n in range(4)])
        with app.app_context():
            stored = only_message()
        assert outputs == [stored.body + "\n"] * 4, outputs
    finally:
        mongoengine.disconnect()


def test_a_claim_left_by_a_killed_process_expires_then_the_message_is_sent(app):
    with app.app_context():
        app.config["SMTP_HOST"] = None
        message = notify_closure(closed_ticket())
        message.update(set__claimed_by="killed-process", set__claimed_at=now())
        with smtp_server() as server:
            use_server(app, server.port)
            held = app.test_cli_runner().invoke(args=["mail", "retry"])
            assert "being sent by another process" in held.output and server.messages == []
            message.update(set__claimed_at=now() - timedelta(minutes=6))
            expired = app.test_cli_runner().invoke(args=["mail", "retry"])
        assert expired.exit_code == 0 and ": sent" in expired.output, expired.output
        assert only_message().status == "sent" and not only_message().claimed_by
    assert len(server.messages) == 1


# -- signing in, and the password ------------------------------------------------------------

def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and auth_data.login == b"desk" \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=good, handled=False)


def test_signs_in_when_a_user_is_set(app):
    with smtp_server(authenticator=authenticator) as server, app.app_context():
        use_server(app, server.port, SMTP_USER="desk", SMTP_PASSWORD=PASSWORD)
        assert notify_closure(closed_ticket()).status == "sent"
    assert len(server.messages) == 1 and server.signed_in == [True]


def test_the_password_never_appears_in_the_outbox_logs_output_or_page(app, caplog):
    caplog.set_level(logging.DEBUG)
    with smtp_server(authenticator=authenticator) as server, app.app_context():
        use_server(app, server.port, SMTP_USER="desk", SMTP_PASSWORD=PASSWORD + "-wrong")
        message = notify_closure(closed_ticket())
        output = app.test_cli_runner().invoke(args=["mail", "retry"]).output
        stored = str(list(OutboxMessage._get_collection().find()))
    assert message.status == "queued"
    assert message.last_error.startswith(
        f"The mail server 127.0.0.1:{server.port} refused the sign-in as desk: 535")
    with app.test_client() as client:
        login(client)
        pages = client.get("/admin/outbox/").get_data(as_text=True) + client.get(
            f"/admin/outbox/message/{message.pk}/").get_data(as_text=True)
    assert "refused the sign-in as desk" in pages and "refused the sign-in" in caplog.text
    for text in (stored, caplog.text, output, pages):
        assert PASSWORD not in text
    assert server.messages == []


# -- the Outbox screen -----------------------------------------------------------------------

def test_outbox_lists_a_waiting_message_with_its_error_for_an_admin(client, app):
    with app.app_context():
        use_server(app, free_port())
        message = notify_closure(closed_ticket())
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert "Ticket closed: Printer jams on floor 2" in page
    assert "alice.carter@acme.example" in page and "queued" in page
    assert "the mail server refused the connection." in page
    detail = client.get(f"/admin/outbox/message/{message.pk}/")
    assert detail.status_code == 200 and ORG_NEWS.replace("'", "&#39;") in detail.get_data(
        as_text=True)
    assert 'id="retry-now"' in detail.get_data(as_text=True)


def test_outbox_is_for_admins_only(agent_client, app):
    with app.app_context():
        message = notify_closure(closed_ticket())
    assert agent_client.get("/admin/outbox/").status_code == 403
    assert agent_client.get(f"/admin/outbox/message/{message.pk}/").status_code == 403
    assert b"Outbox" not in agent_client.get("/admin/").data


def test_outbox_lists_newest_first_in_pages(client, app):
    with app.app_context():
        for n in range(25):
            OutboxMessage(key=f"test:{n}", kind="test", to="a@example.com",
                          subject=f"Message {n:02d}", body="Hello.\n",
                          created_at=now() + timedelta(seconds=n)).save()
    first = client.get("/admin/outbox/").get_data(as_text=True)
    second = client.get("/admin/outbox/?page=1").get_data(as_text=True)
    assert re.findall(r"Message (\d\d)", first)[:2] == ["24", "23"]
    assert len(re.findall(r"Message \d\d", first)) == 20 and "Page 1 of 2" in first
    assert re.findall(r"Message (\d\d)", second) == ["04", "03", "02", "01", "00"]


def test_markup_in_news_on_closure_is_shown_as_text_on_the_outbox_page(client, app):
    script = "<script>alert('news')</script>"
    with app.app_context():
        message = notify_closure(closed_ticket(customer_news=script, org_news="<b>bold</b>"))
    page = client.get(f"/admin/outbox/message/{message.pk}/").get_data(as_text=True)
    assert script not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;news&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_retry_now_sends_the_message_once_and_needs_the_csrf_token(client, app):
    with app.app_context():
        message = notify_closure(closed_ticket())  # waits: mail not configured
    url = f"/admin/outbox/message/{message.pk}/"
    with smtp_server() as server:
        use_server(app, server.port)
        assert client.post(url + "retry").status_code == 400  # no token
        assert server.messages == []
        token = csrf_token(client.get(url).get_data(as_text=True))
        done = client.post(url + "retry", data={"csrf_token": token}, follow_redirects=True)
        again = client.post(url + "retry", data={"csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200 and "Ticket closed: Printer jams on floor 2: sent" in \
        done.get_data(as_text=True)
    assert "already sent" in again.get_data(as_text=True)
    assert 'id="retry-now"' not in again.get_data(as_text=True)
    assert len(server.messages) == 1


# -- settings and the test command -----------------------------------------------------------

def test_mail_test_command_sends_a_test_message(app):
    runner = app.test_cli_runner()
    assert "Mail is not configured" in runner.invoke(args=["mail", "test", "a@example.com"]).output
    with smtp_server() as server:
        use_server(app, server.port)
        result = runner.invoke(args=["mail", "test", "ops@example.com"])
    assert result.exit_code == 0, result.output
    assert [m["To"] for m in server.messages] == ["ops@example.com"]
    with app.app_context():
        assert OutboxMessage.objects.count() == 0


def test_smtp_settings_come_from_the_environment(monkeypatch):
    from admin_app.config import from_environment
    from admin_app.mail.smtp import Settings

    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_TIMEOUT",
                 "MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    settings = Settings.from_config(from_environment())
    assert (settings.host, settings.port, settings.starttls, settings.timeout,
            settings.sender) == ("mail.example.com", 587, True, 10, "dictadmin@localhost")
    assert PASSWORD not in repr(settings)
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    assert Settings.from_config(from_environment()).port == 25
    monkeypatch.setenv("SMTP_STARTTLS", "maybe")
    with pytest.raises(SystemExit, match="SMTP_STARTTLS must be true or false, not 'maybe'"):
        from_environment()

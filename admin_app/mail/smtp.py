"""Handing one message to an SMTP server, with smtplib from the standard library.

Why not Flask-Mail: delivery here is one small function (connect, STARTTLS, sign in,
send), and what matters around it (the outbox, the claim, errors told in words) is ours
anyway; the standard library does it without another dependency to pin and follow.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
import typing as t
from dataclasses import dataclass
from email.message import EmailMessage


class DeliveryError(Exception):
    """The server did not take the message; the text says why, in words, without secrets."""


@dataclass(frozen=True)
class Settings:
    host: str | None
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    timeout: float

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Settings:
        starttls = bool(config.get("SMTP_STARTTLS"))
        return cls(host=config.get("SMTP_HOST") or None,
                   port=int(config.get("SMTP_PORT") or (587 if starttls else 25)),
                   user=config.get("SMTP_USER") or None,
                   password=config.get("SMTP_PASSWORD") or None,
                   starttls=starttls,
                   sender=config.get("MAIL_FROM") or "dictadmin@localhost",
                   timeout=float(config.get("SMTP_TIMEOUT") or 10))

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # a stray log line or traceback must not carry the password
        return f"Settings(server={self.server!r}, user={self.user!r}, starttls={self.starttls})"


NOT_CONFIGURED = ("Mail is not configured (SMTP_HOST is not set), so the notice waits in the "
                  "outbox until it is.")


def send(settings: Settings, message: EmailMessage) -> None:
    """Deliver `message` or raise DeliveryError.

    Once the server has accepted the message, nothing after it (QUIT, closing) may turn
    the delivery into a failure: that would queue it again and send it twice.
    """
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except Exception as exc:
        raise DeliveryError(_words(exc, settings)) from None
    try:
        try:
            if settings.starttls:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"The mail server {settings.server} does not offer STARTTLS, and "
                        f"SMTP_STARTTLS is on: nothing is sent unencrypted.")
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message)
        except DeliveryError:
            raise
        except Exception as exc:
            raise DeliveryError(_words(exc, settings)) from None
    finally:
        try:
            smtp.quit()
        except Exception:  # noqa: S110 - the outcome is already decided
            smtp.close()


def _words(exc: BaseException, settings: Settings) -> str:
    """What went wrong, as a sentence an admin can act on; never the password."""
    server = settings.server
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = f"The mail server {server} refused the sign-in as {settings.user}" \
               f"{_reply(exc.smtp_code, exc.smtp_error)}."
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        text = f"The mail server {server} does not support what was asked ({_plain(exc)})."
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "; ".join(f"The mail server {server} refused the address {address}"
                         f"{_reply(code, reply)}"
                         for address, (code, reply) in exc.recipients.items()) + "."
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = f"The mail server {server} refused the sender address {exc.sender}" \
               f"{_reply(exc.smtp_code, exc.smtp_error)}."
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"The mail server {server} refused the message" \
               f"{_reply(exc.smtp_code, exc.smtp_error)}."
    elif isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        # smtplib reports a read that timed out as the server closing the connection.
        text = f"The mail server {server} did not answer within {settings.timeout:g} seconds."
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        text = f"The mail server {server} closed the connection ({_plain(exc)})."
    elif isinstance(exc, ssl.SSLError):
        text = f"The encrypted connection (STARTTLS) to {server} failed ({_plain(exc)})."
    elif isinstance(exc, ConnectionRefusedError):
        text = f"Nothing answers at {server}: the mail server refused the connection."
    elif isinstance(exc, socket.gaierror):
        text = f"The mail server name {settings.host} could not be found ({_plain(exc)})."
    elif isinstance(exc, OSError):
        text = f"The mail server {server} could not be reached ({_plain(exc)})."
    else:
        text = f"Sending through {server} failed ({type(exc).__name__}: {_plain(exc)})."
    return _without_secret(text, settings)


def _reply(code: int, reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    reply = " ".join(reply.split())
    return f": {code} {reply}" if reply else f": {code}"


def _plain(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _without_secret(text: str, settings: Settings) -> str:
    """A server may echo what it was sent (the password, or AUTH PLAIN's base64 of it);
    neither reaches the outbox, a log or a page."""
    if not settings.password:
        return text
    secret = settings.password.encode()
    plain = b"\0" + (settings.user or "").encode() + b"\0" + secret
    for form in (settings.password, base64.b64encode(secret).decode(),
                 base64.b64encode(plain).decode()):
        text = text.replace(form, "[password]")
    return text

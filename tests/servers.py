"""Real servers that tests start: bound to 127.0.0.1 on a free port, always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import typing as t
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


@contextlib.contextmanager
def dictadmin_server(instance_path: Path, workers: int = 1) -> t.Iterator[str]:
    """Serve the app with gunicorn process workers on the embedded store in `instance_path`."""
    port = free_port()
    env = {**os.environ, "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test-secret"}
    env.pop("MONGODB_URI", None)
    log = open(instance_path.parent / f"gunicorn-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "admin_app:create_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class Browser:
    """A cookie-keeping HTTP client for a server in another process."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def login(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
        page = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                       "password": password}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=10) as response:
            assert "/admin" in response.url, "sign-in failed"


# -- a real SMTP server (aiosmtpd), for the mail tests ---------------------------------------

@dataclass
class MailServer:
    """An SMTP server on 127.0.0.1 that keeps what it accepts, parsed, in `messages`."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    signed_in: list[bool] = field(default_factory=list)  # whether each came after AUTH
    delay: float = 0.0  # seconds to wait before accepting each message (to make races)

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.signed_in.append(bool(session.authenticated))
        self.messages.append(t.cast(EmailMessage, BytesParser(policy=default).parsebytes(
            envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(delay: float = 0.0, authenticator: t.Any = None,
                certificate: tuple[Path, Path] | None = None) -> t.Iterator[MailServer]:
    """Start an aiosmtpd server on a free port; stopped when the block ends.

    With `authenticator`, the server offers AUTH without TLS (a test server only) and
    refuses a wrong password; `signed_in` tells whether each message came after AUTH.
    With `certificate` (see `self_signed_certificate`), it offers and requires STARTTLS.
    """
    from aiosmtpd.controller import Controller

    server = MailServer("127.0.0.1", free_port(), delay=delay)
    options: dict[str, t.Any] = {}
    if authenticator:
        options.update(authenticator=authenticator, auth_require_tls=False)
    if certificate:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(server, hostname=server.host, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, made with Debian's openssl command (installed
    by `make test` / `.ci/run`)."""
    assert shutil.which("openssl"), "Debian's openssl is required: run `make test`"
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


# -- headless Chromium ------------------------------------------------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextlib.contextmanager
def signed_in_browser(instance_path: Path, **context_options: t.Any) -> t.Iterator[t.Any]:
    """Debian's Chromium (driven by Playwright, so no browser is downloaded), signed in as
    the admin on gunicorn serving the embedded store in `instance_path`: a browser context
    whose pages share that session."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: run `make test` (it installs it)"
    with dictadmin_server(instance_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base, **context_options)
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", ADMIN_EMAIL)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/")
        page.close()
        try:
            yield context
        finally:
            browser.close()

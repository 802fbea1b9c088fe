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


def stop(process: subprocess.Popen) -> None:
    """Stop a server the tests started: asked first, killed after 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def dictadmin_server(instance_path: Path, workers: int = 1,
                     settings: t.Mapping[str, str] | None = None) -> t.Iterator[str]:
    """Serve the app on the embedded store in `instance_path` as `make run` does: gunicorn
    process workers, each serving its connections cooperatively (gevent); `settings`:
    more environment variables (admin_app/config.py)."""
    port = free_port()
    env = {**os.environ, "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test-secret",
           **(settings or {})}
    env.pop("MONGODB_URI", None)
    log = open(instance_path.parent / f"gunicorn-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", "gevent", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "admin_app:create_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        log.close()


@contextlib.contextmanager
def threaded_server(app: t.Any) -> t.Iterator[str]:
    """Serve `app` from this process with one thread per request (as gunicorn's gthread
    workers do on MongoDB), so a test can reach its store while it serves."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class Browser:
    """A cookie-keeping HTTP client for a server in another process (or thread)."""

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
def signed_in_browser(instance_path: Path, settings: t.Mapping[str, str] | None = None,
                      **context_options: t.Any) -> t.Iterator[t.Any]:
    """Debian's Chromium (driven by Playwright, so no browser is downloaded), signed in as
    the admin on gunicorn serving the embedded store in `instance_path` (with `settings`):
    a browser context whose pages share that session."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: run `make test` (it installs it)"
    # Two process workers, as `make run` serves.
    with dictadmin_server(instance_path, workers=2, settings=settings) as base, \
            sync_playwright() as pw:
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


# -- a real OpenLDAP slapd shaped like Active Directory, for the directory tests --------------
#
# Debian's `slapd` (and `ldap-utils` for ldapadd) on 127.0.0.1, a free port, a temporary
# slapd.conf and mdb database: the core, cosine, inetorgperson, nis and msuser schemas,
# so entries are AD `user`s (instanceType, nTSecurityDescriptor, objectCategory, sn, and
# extensibleObject to carry sAMAccountName), each with a random 16-byte objectGUID.
# Unpaged searches stop at 1,000 entries like AD, for every bind but the rootdn; the
# sync binds as `LDAP_SYNC_DN`, an ordinary user allowed to read. `LDAP_LIMITED_DN` may
# read only 1,500 entries in all, even paged (to provoke a size limit mid-search).

SLAPD = "/usr/sbin/slapd"
LDAP_SUFFIX = "dc=example,dc=test"
LDAP_ROOT_DN = f"cn=admin,{LDAP_SUFFIX}"
LDAP_ROOT_PASSWORD = "root-secret"
LDAP_PEOPLE = f"ou=people,{LDAP_SUFFIX}"
LDAP_MOVED = f"ou=moved,{LDAP_SUFFIX}"
LDAP_SYNC_DN = f"cn=dictadmin-sync,ou=service,{LDAP_SUFFIX}"
LDAP_SYNC_PASSWORD = "sync-secret"
LDAP_LIMITED_DN = f"cn=limited,ou=service,{LDAP_SUFFIX}"
LDAP_LIMITED_PASSWORD = "limited-secret"
AD_OBJECT_CATEGORY = "CN=Person,CN=Schema,CN=Configuration,DC=example,DC=test"
UAC_ENABLED, UAC_DISABLED = 512, 514  # NORMAL_ACCOUNT, plus ACCOUNTDISABLE (0x2)

_SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/msuser.schema
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
{tls}
sizelimit size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited
database mdb
maxsize 1073741824
dbnosync
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {folder}/db
limits dn.exact="{limited_dn}" size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=1500
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
"""

_BASE_LDIF = f"""\
dn: {LDAP_SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: {LDAP_PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {LDAP_MOVED}
objectClass: organizationalUnit
ou: moved

dn: ou=service,{LDAP_SUFFIX}
objectClass: organizationalUnit
ou: service

dn: {LDAP_SYNC_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: dictadmin-sync
userPassword: {LDAP_SYNC_PASSWORD}

dn: {LDAP_LIMITED_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: limited
userPassword: {LDAP_LIMITED_PASSWORD}

dn: cn=WS0001,{LDAP_PEOPLE}
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
objectClass: computer
objectClass: extensibleObject
cn: WS0001
sn: WS0001
sAMAccountName: WS0001$
userAccountControl: 4096
instanceType: 4
nTSecurityDescriptor:: AQAEgA==
objectCategory: CN=Computer,CN=Schema,CN=Configuration,DC=example,DC=test
objectGUID:: {{guid}}
"""


@contextlib.contextmanager
def ldap3_connection(url: str, user: str, password: str, **options: t.Any) -> t.Iterator[t.Any]:
    """A bound ldap3 connection (no schema read unless `get_info` is given), always
    unbound after."""
    import ldap3
    server = ldap3.Server(url, get_info=options.pop("get_info", ldap3.NONE))
    connection = ldap3.Connection(server, user, password, auto_bind=True, **options)
    try:
        yield connection
    finally:
        connection.unbind()


@dataclass
class DirectoryUser:
    dn: str
    guid: bytes  # the objectGUID's 16 raw bytes, as AD stores them
    mail: str

    @property
    def key(self) -> str:
        """The canonical objectGUID text the reader gives (AD's little-endian order)."""
        import uuid
        return str(uuid.UUID(bytes_le=self.guid))


def directory_user_ldif(number: int, ou: str = LDAP_PEOPLE, guid: bytes | None = None,
                        **attributes: t.Any) -> tuple[str, DirectoryUser]:
    """One AD-shaped `user` entry as LDIF: `user00042` in `ou`, with a random objectGUID
    unless given; `attributes` override or add values (None leaves one out; a bytes
    value is written base64)."""
    import base64

    guid = guid if guid is not None else os.urandom(16)
    name = f"user{number:05d}"
    values: dict[str, t.Any] = {
        "cn": f"User {number:05d}", "sn": f"{number:05d}", "givenName": "User",
        "displayName": f"User {number:05d}", "mail": f"{name}@example.test",
        "department": ("Sales", "Support", "Finance", "Engineering")[number % 4],
        "company": ("Acme Ltd", "Globex Inc.", "Initech")[number % 3],
        "physicalDeliveryOfficeName": ("Leeds", "London", "Paris")[number % 3],
        "telephoneNumber": f"+44 113 {number:07d}", "sAMAccountName": name,
        "userPrincipalName": f"{name}@example.test", "userAccountControl": UAC_ENABLED,
        "instanceType": 4, "nTSecurityDescriptor": b"\x01\x00\x04\x80",
        "objectCategory": AD_OBJECT_CATEGORY, "objectGUID": guid, **attributes,
    }
    dn = f"cn={values['cn']},{ou}"
    lines = [f"dn: {dn}", "objectClass: top", "objectClass: person",
             "objectClass: organizationalPerson", "objectClass: user",
             "objectClass: extensibleObject"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bytes):
            lines.append(f"{key}:: {base64.b64encode(value).decode()}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n", DirectoryUser(dn, guid, values.get("mail") or "")


@dataclass
class Directory:
    """A running slapd: `url` (ldap://), `ldaps_url` and `ca_file` when started with TLS."""

    folder: Path
    url: str
    process: subprocess.Popen
    ldaps_url: str | None = None
    ca_file: Path | None = None
    added: int = 0

    @contextlib.contextmanager
    def admin(self) -> t.Iterator[t.Any]:
        """An ldap3 connection bound as the rootdn (no limits), for arranging entries;
        unbound when the block ends (ldap3's own `with` leaves an auto-bound one open)."""
        with ldap3_connection(self.url, LDAP_ROOT_DN, LDAP_ROOT_PASSWORD,
                              raise_exceptions=True) as connection:
            yield connection

    def ldapadd(self, ldif: str) -> None:
        path = self.folder / f"add-{time.monotonic_ns()}.ldif"
        path.write_text(ldif, encoding="utf-8")
        subprocess.run(["ldapadd", "-x", "-H", self.url, "-D", LDAP_ROOT_DN,
                        "-w", LDAP_ROOT_PASSWORD, "-f", str(path)],
                       check=True, capture_output=True, timeout=600)
        path.unlink()

    def add_users(self, count: int, ou: str = LDAP_PEOPLE,
                  **attributes: t.Any) -> list[DirectoryUser]:
        """Add `count` users (numbered on from those added before) with one ldapadd."""
        chunks, users = [], []
        for number in range(self.added, self.added + count):
            ldif, user = directory_user_ldif(number, ou, **attributes)
            chunks.append(ldif)
            users.append(user)
        self.added += count
        self.ldapadd("\n".join(chunks))
        return users

    def modify(self, dn: str, **attributes: t.Any) -> None:
        """Replace attribute values (None or [] removes the attribute)."""
        import ldap3
        changes = {name: [(ldap3.MODIFY_REPLACE, [] if value is None else
                           value if isinstance(value, list) else [value])]
                   for name, value in attributes.items()}
        with self.admin() as connection:
            connection.modify(dn, changes)

    def disable(self, dn: str) -> None:
        self.modify(dn, userAccountControl=str(UAC_DISABLED))

    def enable(self, dn: str) -> None:
        self.modify(dn, userAccountControl=str(UAC_ENABLED))

    def delete(self, dn: str) -> None:
        with self.admin() as connection:
            connection.delete(dn)

    def rename(self, dn: str, new_cn: str, new_ou: str | None = None) -> str:
        """modify_dn: a new cn and/or a move to `new_ou`; returns the new DN."""
        from ldap3.utils.dn import escape_rdn, to_dn
        rdn = f"cn={escape_rdn(new_cn)}"
        with self.admin() as connection:
            connection.modify_dn(dn, rdn, new_superior=new_ou)
        return f"{rdn},{new_ou or ','.join(to_dn(dn)[1:])}"

    def move(self, dn: str, new_ou: str) -> str:
        from ldap3.utils.dn import parse_dn
        return self.rename(dn, parse_dn(dn)[0][1], new_ou)

    def stop(self) -> None:
        """Stop slapd (terminate, then kill); safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def connector(self, **fields: t.Any) -> t.Any:
        """An unsaved Connector for this directory, bound as the ordinary sync user."""
        from admin_app.directory.connectors import Connector
        return Connector(**{"name": "ad", "servers": [self.url], "bind_user": LDAP_SYNC_DN,
                            "password": LDAP_SYNC_PASSWORD, "base_dns": [LDAP_PEOPLE],
                            "connect_timeout": 2, "receive_timeout": 10, "retries": 0,
                            **fields})


@contextlib.contextmanager
def slapd_server(folder: Path, tls: bool = False) -> t.Iterator[Directory]:
    """Start slapd in `folder` (its config, database and log); always stopped after.
    With `tls`, it also listens on ldaps:// and offers StartTLS, with a self-signed
    certificate for 127.0.0.1 (`Directory.ca_file` trusts it)."""
    import base64

    assert Path(SLAPD).exists() and shutil.which("ldapadd"), (
        "Debian's slapd and ldap-utils are required: run `make test`")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir(exist_ok=True)
    tls_lines, cert = "", None
    if tls:
        cert, key = self_signed_certificate(folder)
        tls_lines = f"TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}"
    (folder / "slapd.conf").write_text(_SLAPD_CONF.format(
        folder=folder, tls=tls_lines, suffix=LDAP_SUFFIX, root_dn=LDAP_ROOT_DN,
        root_password=LDAP_ROOT_PASSWORD, limited_dn=LDAP_LIMITED_DN), encoding="utf-8")
    port = free_port()
    urls = [f"ldap://127.0.0.1:{port}/"]
    ldaps_port = free_port() if tls else None
    if ldaps_port:
        urls.append(f"ldaps://127.0.0.1:{ldaps_port}/")
    log = open(folder / f"slapd-{port}.log", "wb")  # noqa: SIM115
    # -d 0: stay in the foreground (so this process owns it), log almost nothing.
    process = subprocess.Popen([SLAPD, "-d", "0", "-f", str(folder / "slapd.conf"),
                                "-h", " ".join(urls)], stdout=log, stderr=subprocess.STDOUT)
    directory = Directory(folder, f"ldap://127.0.0.1:{port}", process,
                          f"ldaps://127.0.0.1:{ldaps_port}" if ldaps_port else None, cert)
    try:
        wait_for_port(port, process)
        if ldaps_port:
            wait_for_port(ldaps_port, process)
        directory.ldapadd(_BASE_LDIF.format(guid=base64.b64encode(os.urandom(16)).decode()))
        yield directory
    finally:
        directory.stop()
        log.close()

"""Real servers that tests start: bound to 127.0.0.1 on a free port, always stopped."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import typing as t
import urllib.parse
import urllib.request
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

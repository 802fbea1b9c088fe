"""How `make run` serves: a connection that sends nothing holds no worker.

Browsers open connections ahead of need (Chromium's preconnect) and may leave them idle;
gunicorn's sync worker reads a new connection until its request arrives, so two idle
connections stalled both of `make run`'s workers until gunicorn killed them (30 s)."""

from __future__ import annotations

import socket
import time
import urllib.request

import mongoengine

from .conftest import make_app
from .servers import dictadmin_server


def test_idle_connections_do_not_hold_the_workers(tmp_path):
    make_app(tmp_path, "embedded")
    mongoengine.disconnect()
    with dictadmin_server(tmp_path / "instance", workers=2) as base:
        for _ in range(4):  # both workers have started and answered once
            urllib.request.urlopen(f"{base}/login", timeout=30).close()
        host, port = base.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(4)]
        try:
            time.sleep(0.5)  # each worker has taken an idle connection by now
            started = time.perf_counter()
            with urllib.request.urlopen(f"{base}/login", timeout=25) as response:
                page = response.read().decode()
            waited = time.perf_counter() - started
        finally:
            for connection in idle:
                connection.close()
    assert response.status == 200 and 'name="password"' in page
    # A held worker answers only when gunicorn kills it, after 30 s; a free one at once.
    assert waited < 10, f"the sign-in page took {waited:.1f} s behind idle connections"

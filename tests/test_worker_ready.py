"""A worker is ready before it serves: `make run`'s gunicorn (with gunicorn.conf.py)
builds each worker's in-process index of the embedded store, reads the dictionary and
compiles the templates after the fork, before the worker takes its first request."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import mongoengine
import pytest

from admin_app import store
from admin_app.models import Customer
from admin_app.records import search_keys
from admin_app.warmup import warm_up

from .conftest import make_app
from .servers import Browser, free_port, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
RECORDS = 3000


def _seed(tmp_path: Path) -> None:
    app = make_app(tmp_path, "embedded")
    with app.app_context():
        fields = search_keys.searched_fields("customer")
        docs = [{"name": f"Customer {i:05d}", "level": "Customer", "archived": False,
                 "revision": 1, "email": f"c{i}@example.com"} for i in range(RECORDS)]
        for doc in docs:
            doc["search_keys"] = search_keys.keys_for("customer", doc, fields)
        Customer._get_collection().insert_many(docs)
    mongoengine.disconnect()


def _serve(tmp_path: Path, *config: str) -> tuple[subprocess.Popen, str, Path]:
    """gunicorn as `make run` starts it (one worker), with an access log to read."""
    port = free_port()
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"),
           "SECRET_KEY": "test-secret"}
    env.pop("MONGODB_URI", None)
    log = tmp_path / f"gunicorn-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *config, "--worker-class", "gevent",
             "--workers", "1", "--bind", f"127.0.0.1:{port}", "--access-logfile", "-",
             "--log-level", "info", "admin_app:create_app()"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}", log


def _first_answer(tmp_path: Path, *config: str) -> list[str]:
    """Start gunicorn, send it one request at once, and return its log lines."""
    process, base, log = _serve(tmp_path, *config)
    try:
        wait_for_port(int(base.rsplit(":", 1)[1]), process)
        with urllib.request.urlopen(f"{base}/login", timeout=60) as response:
            assert response.status == 200
        browser = Browser(base)
        browser.login()
        assert "Customer 00000" in browser.get("/admin/customer/")
    finally:
        stop(process)
    return log.read_text().splitlines()


def test_the_worker_builds_its_index_before_its_first_answer(tmp_path):
    _seed(tmp_path)
    lines = _first_answer(tmp_path, "--config", str(ROOT / "gunicorn.conf.py"))
    ready = [n for n, line in enumerate(lines) if "ready:" in line]
    answered = [n for n, line in enumerate(lines) if '"GET /login' in line]
    assert ready and answered, "\n".join(lines)
    # The worker said what it had built, and said it before it answered anything.
    assert ready[0] < answered[0]
    built = re.search(r"ready: (\d+) documents indexed in \d+ collections \(([^)]*)\)",
                      lines[ready[0]])
    assert built and f"customers {RECORDS}" in built.group(2).split(", ")
    assert "templates compiled" in lines[ready[0]]


def test_without_the_config_the_first_request_builds_it(tmp_path):
    """What the config changes: gunicorn alone (as before) logs no warm-up."""
    _seed(tmp_path)
    lines = _first_answer(tmp_path)
    assert not any("ready:" in line for line in lines)
    assert any('"GET /login' in line for line in lines)


@pytest.mark.parametrize("kind", ["mongomock", "embedded"])
def test_warm_up_builds_the_indexes_the_first_query_would_build(tmp_path, kind):
    """In the worker: every collection's index is there before any query (the embedded
    store), and nothing is built on mongomock, which has no index to build."""
    app = make_app(tmp_path, kind)
    try:
        done = warm_up(app)
        with app.app_context():
            db = store.database()
            if kind == "mongomock":
                assert done["indexed"] == {}
            else:
                assert done["indexed"]["users"] == 1
                assert set(done["indexed"]) == set(db.list_collection_names())
                assert all(db[name]._store._query_index is not None
                           for name in done["indexed"])
        assert done["templates"] == len(app.jinja_env.list_templates()) > 0
        assert app.jinja_env.cache and len(app.jinja_env.cache) >= done["templates"]
    finally:
        mongoengine.disconnect()

"""A dictionary change shows in the next request's description in every worker: two
gunicorn process workers on one embedded store, the change made by another process (the
command line), and every answer after it, whichever worker gives it, describes the new
dictionary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD
from .servers import dictadmin_server


def _flask(instance: Path, *arguments: str, stdin: str | None = None) -> str:
    env = {**os.environ, "INSTANCE_PATH": str(instance), "SECRET_KEY": "test-secret",
           "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.pop("MONGODB_URI", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "admin_app", *arguments],
                          env=env, capture_output=True, text=True, timeout=300, check=True,
                          input=stdin).stdout


def _described(base: str, token: str) -> tuple[str, dict]:
    """The version, and the customer schema's Department (each request on a new
    connection, so the two workers take turns answering)."""
    request = urllib.request.Request(f"{base}/api/v1/openapi.json",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Connection": "close"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        document = json.load(answer)
    properties = document["components"]["schemas"]["Customer"]["properties"]
    return document["info"]["version"], properties["department"]


def test_a_dictionary_change_shows_in_every_workers_next_description(tmp_path):
    instance = tmp_path / "instance"
    _flask(instance, "setup")
    token = _flask(instance, "token", "create", ADMIN_EMAIL, "--scope", "read").strip()
    exported = tmp_path / "dictionary.json"
    with dictadmin_server(instance, workers=2) as base:
        before = {_described(base, token)[0] for _ in range(12)}
        assert len(before) == 1  # both workers describe the same version
        _flask(instance, "dictionary", "export", str(exported))
        words = json.loads(exported.read_text(encoding="utf-8"))
        for field in words["fields"]:
            if field["entity"] == "customer" and field["name"] == "department":
                field["label"] = "Cost centre"
        exported.write_text(json.dumps(words), encoding="utf-8")
        _flask(instance, "dictionary", "import", str(exported))
        after = [_described(base, token) for _ in range(12)]
    assert len({version for version, _d in after}) == 1
    assert {version for version, _d in after} != before
    assert all(department["title"] == "Cost centre" for _v, department in after)

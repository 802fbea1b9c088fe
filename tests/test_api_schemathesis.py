"""Schemathesis against a live server: property-based requests to every operation the API
describes, generated from its own OpenAPI document, must get no 5xx and no answer that
breaks the document (status codes, content types, headers, bodies).

The server is gunicorn on the embedded store with the demo data, as `make run` serves it;
schemathesis runs as its command line does in CI (a new seed each run, printed on
failure so the run can be replayed with `--seed`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD
from .servers import dictadmin_server

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")
EXAMPLES = 25  # per operation, in each phase: about 4,000 requests in all


def _flask(instance: Path, *arguments: str) -> str:
    env = {**os.environ, "INSTANCE_PATH": str(instance), "SECRET_KEY": "test-secret",
           "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.pop("MONGODB_URI", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "admin_app", *arguments],
                          env=env, capture_output=True, text=True, timeout=300, check=True)
    return done.stdout


def test_generated_requests_get_no_server_error_and_answers_the_description_allows(
        tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    _flask(instance, "setup")  # the default dictionary, the demo data, the first admin
    token = _flask(instance, "token", "create", ADMIN_EMAIL, "--scope", "read-write").strip()
    monkeypatch.setenv("API_REQUESTS_PER_MINUTE", "1000000")  # the generator is fast
    with dictadmin_server(instance, workers=2) as base:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {token}", "--checks", ",".join(CHECKS),
             "--max-examples", str(EXAMPLES), "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=1200,
            cwd=tmp_path)  # it keeps its replay files in the working folder
    said = run.stdout + run.stderr
    assert run.returncode == 0, said[-6000:]
    # Every operation the document describes was tested, with many requests.
    selected = re.search(r"Selected: (\d+)/(\d+)", said)
    tested = re.search(r"Tested: (\d+)", said)
    generated = re.search(r"(\d+) generated", said)
    assert selected and tested and generated, said[-2000:]
    assert int(tested.group(1)) == int(selected.group(2)) >= 25
    assert int(generated.group(1)) >= 1000

"""Schemathesis against a live server whose dictionary has conditional rules in force
(mandatory-when, hide, read-only, narrowed choices, and a rule on dates the description
can only name): the requests generated from the description, `if` / `then` included, get
no 5xx and no answer the description does not allow. As tests/test_api_schemathesis.py
runs it for the shipped dictionary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD
from .servers import dictadmin_server
from .test_api_schemathesis import CHECKS, EXAMPLES

ROOT = Path(__file__).resolve().parents[1]

# Run in the instance's own process, as an admin's screen would add them.
ADD_RULES = """
from admin_app import create_app
from admin_app.customising.conditional_rules import add_rule
from admin_app.customising.fields import add_field

app = create_app()
with app.app_context():
    section = {"Customer": "Customer", "Org": "Organisation"}
    add_field("customer", "cost_centre", "Cost Centre", "text", sections=section)
    add_field("customer", "tier", "Tier", "choice", choices=["Gold", "Silver", "Bronze"],
              sections=section)
    add_field("customer", "renewal", "Renewal", "date", sections=section)
    for rule in [
        {"name": "finance-needs-cost-centre", "entity": "customer",
         "when": {"all": [{"field": "department", "equals": "Finance"},
                          {"not": {"field": "level", "equals": "Org"}}]},
         "then": {"mandatory": ["cost_centre"]}},
        {"name": "located-needs-a-phone", "entity": "customer",
         "when": {"field": "location", "empty": False}, "then": {"mandatory": ["phone_1"]}},
        {"name": "orgs-hide-phone-1", "entity": "customer",
         "when": {"field": "level", "equals": "Org"}, "then": {"hide": ["phone_1"]}},
        {"name": "leeds-locks-email", "entity": "customer",
         "when": {"field": "location", "equals": "Leeds"}, "then": {"read_only": ["email"]}},
        {"name": "sales-tiers", "entity": "customer",
         "when": {"field": "department", "one_of": ["Sales", "Support"]},
         "then": {"choices": {"tier": ["Silver", "Bronze"]}}},
        {"name": "renewals-need-news", "entity": "customer",
         "when": {"field": "renewal", "after": "2027-01-01"}, "then": {"mandatory": ["news"]}},
        {"name": "job-titles-need-a-phone", "entity": "contact",
         "when": {"field": "job_title", "empty": False}, "then": {"mandatory": ["phone"]}},
    ]:
        add_rule(rule)
"""


def _environment(instance: Path) -> dict[str, str]:
    env = {**os.environ, "INSTANCE_PATH": str(instance), "SECRET_KEY": "test-secret",
           "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.pop("MONGODB_URI", None)
    return env


def _run(instance: Path, *arguments: str) -> str:
    return subprocess.run([sys.executable, *arguments], env=_environment(instance), cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True).stdout


def test_generated_requests_with_rules_in_force_get_no_server_error(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    _run(instance, "-m", "flask", "--app", "admin_app", "setup")
    _run(instance, "-c", ADD_RULES)
    token = _run(instance, "-m", "flask", "--app", "admin_app", "token", "create",
                 ADMIN_EMAIL, "--scope", "read-write").strip()
    monkeypatch.setenv("API_REQUESTS_PER_MINUTE", "1000000")  # the generator is fast
    with dictadmin_server(instance, workers=2) as base:
        asked = urllib.request.Request(f"{base}/api/v1/openapi.json",
                                       headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(asked, timeout=30) as answer:  # noqa: S310 - our server
            schemas = json.load(answer)["components"]["schemas"]
        said_as_if = [c["then"]["required"] for c in schemas["CustomerCreate"]["allOf"]
                      if "if" in c]
        assert ["cost_centre"] in said_as_if and ["phone_1"] in said_as_if
        assert ["phone"] in [c["then"]["required"] for c in schemas["ContactCreate"]["allOf"]
                             if "if" in c]
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {token}", "--checks", ",".join(CHECKS),
             "--max-examples", str(EXAMPLES), "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    said = run.stdout + run.stderr
    assert run.returncode == 0, said[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", said)
    tested = re.search(r"Tested: (\d+)", said)
    generated = re.search(r"(\d+) generated", said)
    assert selected and tested and generated, said[-2000:]
    assert int(tested.group(1)) == int(selected.group(2)) >= 25
    assert int(generated.group(1)) >= 1000

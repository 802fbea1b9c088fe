"""Directory sync: people from Active Directory / LDAP become Customers or Contacts.

The directory side (`connectors.py`, `reader.py`) says what a connector is and what the
directory holds; the sync side (`mapping.py`, `orgs.py`, `plan.py`, `sync.py`, `runs.py`,
`cli.py`) checks the attribute map, decides, record by record, what a run would do,
guards against archiving people by mistake, and writes exactly the plan it showed.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import ldap_cli

    app.cli.add_command(ldap_cli)

"""Connectors: where a directory is, how to sign in to it, and what its people become.

A connector is stored in `directory_connectors` and edited by admins. One named
`default` can also come from the environment (`LDAP_URL`, `LDAP_BIND_DN`,
`LDAP_BIND_PASSWORD`, `LDAP_BASE_DN`, `LDAP_FILTER`, `LDAP_CA_FILE`, `LDAP_STARTTLS`):
it is built on demand, never saved, and shown read-only. The name `default` is kept
for it: a stored connector cannot take it.

**The password** is stored (the sync must sign in unattended) but is write-only on
screens: it is never shown back, never logged, and never part of `repr`.

**`config_revision`** moves whenever what a connector *selects or maps* changes (base
DNs, filter, attribute map, the Org attribute, what entries become), so the sync can
tell that a run's scope is new and make the next scheduled run a preview only. `save()`
moves it by itself when one of those fields changed since the connector was loaded;
`bump_config_revision()` moves it explicitly.
"""

from __future__ import annotations

import re
import typing as t
import urllib.parse

import mongoengine as me
from mongoengine.base import BaseField

DEFAULT_FILTER = "(&(objectClass=user)(!(objectClass=computer)))"
# Active Directory's attribute → dictionary field; the Org comes from `org_attribute`.
AD_ATTRIBUTE_MAP = {
    "displayName": "name",
    "mail": "email",
    "department": "department",
    "physicalDeliveryOfficeName": "location",
    "telephoneNumber": "phone_1",
}
DEFAULT_ORG_ATTRIBUTE = "company"
BECOMES = ("customer", "contact")
ORG_POLICIES = ("create", "leave_empty", "default")
ENVIRONMENT_NAME = "default"
# What a run selects and how it maps it: a change here makes the next scheduled run a
# preview (see the sync side).
SCOPE_FIELDS = ("base_dns", "filter", "attribute_map", "org_attribute", "becomes")

_SCHEDULE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


class PairsField(BaseField):
    """A str → str dict whose keys may hold `.` or start with `$` ("Acme Inc."), which
    MongoDB keys may not: stored as a list of `[key, value]` pairs, read back as a dict.

    Change it by assignment or in place; `Connector.save()` always writes it."""

    def to_mongo(self, value: t.Any) -> t.Any:
        return [[key, item] for key, item in (value or {}).items()]

    def to_python(self, value: t.Any) -> dict[str, str]:
        if isinstance(value, list):
            return {key: item for key, item in value}
        return dict(value or {})

    def validate(self, value: t.Any) -> None:
        if not isinstance(value, dict) or not all(
                isinstance(key, str) and key.strip() and isinstance(item, str) and item.strip()
                for key, item in value.items()):
            self.error("must map names to names (no empty ones)")


class Connector(me.Document):
    """One directory (one or more servers for fail-over) and how its entries load."""

    meta = {"collection": "directory_connectors",
            "indexes": [{"fields": ["name"], "unique": True}],
            "ordering": ["name"]}

    name = me.StringField(required=True, max_length=100)
    enabled = me.BooleanField(default=True)
    # Tried in order; `retries` rounds over the list, each attempt within the timeouts.
    servers = me.ListField(me.StringField(), required=True)
    # A DN, DOMAIN\user or a UPN (user@domain): Active Directory takes all three in a
    # simple bind; other directories take a DN.
    bind_user = me.StringField(required=True)
    password = me.StringField()
    base_dns = me.ListField(me.StringField(), required=True)
    filter = me.StringField(default=DEFAULT_FILTER)
    becomes = me.StringField(choices=BECOMES, default="customer")
    attribute_map = me.DictField(me.StringField(), default=lambda: dict(AD_ATTRIBUTE_MAP))
    org_attribute = me.StringField(default=DEFAULT_ORG_ATTRIBUTE)
    org_policy = me.StringField(choices=ORG_POLICIES, default="create")
    default_org = me.StringField()
    org_aliases = PairsField(default=dict)
    field_defaults = me.DictField(default=dict)
    schedule = me.StringField()  # None: off; "HH:MM": daily at that (server local) time
    ca_file = me.StringField()
    starttls = me.BooleanField(default=False)
    verify_certificates = me.BooleanField(default=True)
    connect_timeout = me.FloatField(default=5, min_value=0.1)
    receive_timeout = me.IntField(default=30, min_value=1)  # whole seconds (ldap3 needs it)
    retries = me.IntField(default=2, min_value=0, max_value=10)
    max_archive_count = me.IntField(default=10, min_value=0)
    max_archive_percent = me.FloatField(default=10, min_value=0, max_value=100)
    config_revision = me.IntField(default=1)

    def __init__(self, *args: t.Any, **values: t.Any) -> None:
        super().__init__(*args, **values)
        self._from_environment = False

    # -- never show the password ---------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Connector {self.name!r}>"

    def __str__(self) -> str:
        return self.name or ""

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def read_only(self) -> bool:
        """True for the connector built from the environment: shown, never edited."""
        return self._from_environment

    # -- scope and its revision ----------------------------------------------------------

    def scope(self) -> dict[str, t.Any]:
        """What a run selects and how it maps it (the fields that move `config_revision`)."""
        return {name: self[name] for name in SCOPE_FIELDS}

    def scope_changed(self) -> bool:
        """Whether a scope field changed since this connector was loaded (a new one: no)."""
        if not self.pk:
            return False
        changed = {path.split(".")[0] for path in self._get_changed_fields()}
        return bool(changed.intersection(SCOPE_FIELDS))

    def bump_config_revision(self) -> int:
        self.config_revision = (self.config_revision or 0) + 1
        return self.config_revision

    # -- checks ----------------------------------------------------------------------------

    def clean(self) -> None:
        problems = connector_problems(self)
        if problems:
            raise me.ValidationError("; ".join(problems))

    def save(self, *args: t.Any, **kwargs: t.Any) -> Connector:
        if self.read_only:
            raise me.OperationError(
                "The connector from the environment (LDAP_URL…) cannot be saved; "
                "change the environment instead.")
        if self.scope_changed():
            self.bump_config_revision()
        self._mark_as_changed("org_aliases")  # a PairsField edited in place is not tracked
        return super().save(*args, **kwargs)


def connector_problems(connector: Connector, *, stored: bool = True) -> list[str]:
    """What is wrong with a connector, in words (empty: nothing). `stored`: it would be
    saved, so it may not take the environment's name."""
    problems = []
    name = (connector.name or "").strip()
    if not name:
        problems.append("A connector needs a name.")
    elif stored and name == ENVIRONMENT_NAME:
        problems.append(f"The name {ENVIRONMENT_NAME!r} is kept for the connector set by "
                        "LDAP_URL; choose another.")
    if not connector.servers:
        problems.append("Give at least one server (ldap://host or ldaps://host).")
    for url in connector.servers or []:
        problem = server_problem(url)
        if problem:
            problems.append(problem)
    if not (connector.bind_user or "").strip():
        problems.append("Give the user to sign in as (a DN, DOMAIN\\user or user@domain): "
                        "Dictadmin never signs in anonymously.")
    if not connector.base_dns or not all((dn or "").strip() for dn in connector.base_dns):
        problems.append("Give at least one base DN (e.g. OU=Staff,DC=example,DC=com).")
    else:
        from ldap3.utils.dn import parse_dn

        for dn in connector.base_dns:
            try:
                parse_dn(dn)
            except Exception:  # noqa: BLE001 - ldap3 raises several kinds for a bad DN
                problems.append(f"{dn!r} is not a DN (e.g. OU=Staff,DC=example,DC=com).")
    search_filter = (connector.filter or "").strip()
    if not (search_filter.startswith("(") and search_filter.endswith(")")
            and search_filter.count("(") == search_filter.count(")")):
        problems.append("The filter must be an LDAP filter in parentheses, e.g. "
                        f"{DEFAULT_FILTER}.")
    for attribute in [*(connector.attribute_map or {}), connector.org_attribute or ""]:
        if attribute and not _ATTRIBUTE.match(attribute):
            problems.append(f"{attribute!r} is not a directory attribute name "
                            "(letters, digits and hyphens, starting with a letter).")
    if not connector.attribute_map:
        problems.append("Map at least one directory attribute to a field.")
    if connector.org_policy == "default" and not (connector.default_org or "").strip():
        problems.append("Name the default Org, or choose another policy for unknown companies.")
    if connector.schedule and not _SCHEDULE.match(connector.schedule):
        problems.append(f"The schedule is a daily time as HH:MM (e.g. 02:30), not "
                        f"{connector.schedule!r}.")
    if connector.ca_file and not connector.verify_certificates:
        problems.append("A CA file is only used when certificates are checked.")
    return problems


def server_problem(url: str) -> str | None:
    parts = urllib.parse.urlsplit((url or "").strip())
    if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
        return f"{url!r} is not a server address: use ldap://host[:port] or ldaps://host[:port]."
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"{url!r} has a port that is not a number from 1 to 65535."
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{url!r}: give only the scheme, host and port; the base DN has its own box."
    return None


def default_connector_from_env(config: t.Mapping[str, t.Any]) -> Connector | None:
    """The read-only, unsaved connector named `default` that `LDAP_URL` describes (with
    Active Directory's attribute map), or None when `LDAP_URL` is not set.

    `LDAP_URL` may list several servers (spaces or commas between them), tried in order;
    `LDAP_BASE_DN` several base DNs separated by `;`."""
    url = (config.get("LDAP_URL") or "").strip()
    if not url:
        return None
    base_dns = [dn.strip() for dn in (config.get("LDAP_BASE_DN") or "").split(";")
                if dn.strip()]
    connector = Connector(
        name=ENVIRONMENT_NAME,
        servers=[part for part in re.split(r"[\s,]+", url) if part],
        bind_user=(config.get("LDAP_BIND_DN") or "").strip(),
        password=config.get("LDAP_BIND_PASSWORD") or "",
        base_dns=base_dns,
        filter=(config.get("LDAP_FILTER") or "").strip() or DEFAULT_FILTER,
        ca_file=config.get("LDAP_CA_FILE") or None,
        starttls=bool(config.get("LDAP_STARTTLS")),
        attribute_map=dict(AD_ATTRIBUTE_MAP),
    )
    connector._from_environment = True
    return connector


def all_connectors(config: t.Mapping[str, t.Any] | None = None) -> list[Connector]:
    """The stored connectors by name, then the environment's `default` when set.
    `config` defaults to the current app's."""
    if config is None:
        from flask import current_app

        config = current_app.config
    connectors = list(Connector.objects.order_by("name"))
    from_environment = default_connector_from_env(config)
    if from_environment is not None:
        connectors.append(from_environment)
    return connectors

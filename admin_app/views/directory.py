"""The Directory screens (admins only): connectors, their preview and load, and the runs.

**Query** runs the sync stopped before writing and shows its plan. **Load** on that
preview does not apply a stored copy of it: it reads the directory again, plans again,
and applies only if the new plan writes exactly what the preview showed (the plans'
fingerprints are equal); otherwise nothing is written and the admin gets the new plan
to review. A held run's **Approve** is the same load with the guards overridden.
"""

from __future__ import annotations

import typing as t

import mongoengine as me
from bson import ObjectId
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from ..directory import approvals
from ..directory.connectors import BECOMES, Connector, all_connectors
from ..directory.mapping import check_map
from ..directory.plan import HOLDING_GUARDS
from ..directory.runs import SyncRun
from ..directory.sync import run
from .paging import page_of
from .secure import AdminOnly

ACTIONS_PAGE = 50
RUNS_PAGE = 20


class ActionForm(FlaskForm):
    """Only the CSRF token: what is acted on is named by the URL."""


class ConnectorForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired("A connector needs a name.")])
    enabled = BooleanField("Enabled", default=True)
    servers = TextAreaField("Servers (one a line, tried in order: ldaps://host:636)")
    bind_user = StringField("Sign in as (a DN, DOMAIN\\user or user@domain)")
    password = PasswordField("Password (leave blank to keep the stored one)")
    base_dns = TextAreaField("Base DNs (one a line)")
    filter = StringField("Filter")
    becomes = SelectField("Entries become", choices=[SelectChoice(b, b.title()) for b in BECOMES])
    attribute_map = TextAreaField("Attribute map (one a line: attribute => field)",
                                  render_kw={"rows": 7})
    org_attribute = StringField("Org attribute (empty: no Orgs)")
    org_policy = SelectField("Unknown companies", choices=[
        SelectChoice("create", "Create the Org"),
        SelectChoice("leave_empty", "Leave the Org as it is"),
        SelectChoice("default", "Use the default Org")])
    default_org = StringField("Default Org")
    org_aliases = TextAreaField("Org aliases (one a line: company => Org name)")
    field_defaults = TextAreaField("Default values (one a line: field => value)")
    schedule = StringField("Daily at (HH:MM, server time; empty: off)")
    ca_file = StringField("CA file")
    starttls = BooleanField("StartTLS")
    verify_certificates = BooleanField("Check certificates", default=True)
    connect_timeout = FloatField("Connect timeout (s)", default=5,
                                 validators=[NumberRange(min=0.1)])
    receive_timeout = FloatField("Receive timeout (s)", default=30,
                                 validators=[NumberRange(min=0.1)])
    retries = IntegerField("Retries", default=2, validators=[NumberRange(0, 10)])
    max_archive_count = IntegerField("Archive at most (records) without approval", default=10,
                                     validators=[NumberRange(min=0)])
    max_archive_percent = FloatField("… or at most (%) of the connector's records",
                                     default=10, validators=[NumberRange(0, 100), Optional()])

    PAIRS = ("attribute_map", "org_aliases", "field_defaults")
    LINES = ("servers", "base_dns")

    def load(self, connector: Connector) -> None:
        for name in ("name", "enabled", "bind_user", "filter", "becomes", "org_attribute",
                     "org_policy", "default_org", "schedule", "ca_file", "starttls",
                     "verify_certificates", "connect_timeout", "receive_timeout", "retries",
                     "max_archive_count", "max_archive_percent"):
            self[name].data = connector[name]
        for name in self.LINES:
            self[name].data = "\n".join(connector[name] or [])
        for name in self.PAIRS:
            self[name].data = "\n".join(f"{k} => {v}" for k, v in (connector[name] or {}).items())

    def store(self, connector: Connector) -> list[str]:
        """Copy the form onto `connector`; the problems with the lines typed, in words."""
        problems: list[str] = []
        if connector.pk is None:  # a connector's records name it: its name never changes
            connector.name = (self.name.data or "").strip()
        for name in ("bind_user", "filter", "org_attribute", "default_org",
                     "schedule", "ca_file"):
            value = (self[name].data or "").strip()
            setattr(connector, name, value or (None if name in ("default_org", "schedule",
                                                                "ca_file") else value))
        for name in ("enabled", "becomes", "org_policy", "starttls", "verify_certificates",
                     "connect_timeout", "receive_timeout", "retries", "max_archive_count",
                     "max_archive_percent"):
            setattr(connector, name, self[name].data)
        for name in self.LINES:
            setattr(connector, name, [line.strip() for line in (self[name].data or "")
                                      .splitlines() if line.strip()])
        for name in self.PAIRS:
            pairs, wrong = parse_pairs(self[name].data or "")
            problems += [f"{self[name].label.text}: line {n} must read "
                         f"'left => right'." for n in wrong]
            setattr(connector, name, pairs)
        if self.password.data:
            connector.password = self.password.data
        return problems


def parse_pairs(text: str) -> tuple[dict[str, str], list[int]]:
    """`left => right` lines as a dict, and the numbers of the lines that are not."""
    pairs, wrong = {}, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        left, arrow, right = line.partition("=>")
        if not arrow or not left.strip() or not right.strip():
            wrong.append(number)
            continue
        pairs[left.strip()] = right.strip()
    return pairs, wrong


def find_connector(name: str | None) -> Connector:
    found = next((c for c in all_connectors() if c.name == name), None)
    return found or abort(404)


def _actor() -> str:
    return getattr(current_user, "email", None) or "an admin"


class ConnectorView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        connectors = all_connectors()
        last = {c.name: SyncRun.objects(connector=c.name).order_by("-started").first()
                for c in connectors}
        return self.render("dictadmin/directory_connectors.html", connectors=connectors,
                           last=last, action=ActionForm())

    @expose("/new/", methods=["GET", "POST"])
    def create(self) -> t.Any:
        return self._edit(Connector(), new=True)

    @expose("/edit/", methods=["GET", "POST"])
    def edit(self) -> t.Any:
        return self._edit(find_connector(request.args.get("name")), new=False)

    def _edit(self, connector: Connector, new: bool) -> t.Any:
        form = ConnectorForm()
        if not new:
            form.name.data = connector.name
            form.name.render_kw = {"readonly": True}
        problems: list[str] = []
        if request.method == "POST" and not connector.read_only:
            if form.validate_on_submit():
                problems = form.store(connector)
                if not problems:
                    problems = _save(connector)
                if not problems:
                    flash(f"The connector {connector.name} was saved.", "success")
                    return redirect(url_for(".edit", name=connector.name))
        elif request.method == "GET":
            form.load(connector)
        warnings = check_map(connector) if connector.becomes in BECOMES else []
        return self.render("dictadmin/directory_connector.html", form=form, new=new,
                           connector=connector, problems=problems, warnings=warnings,
                           action=ActionForm())

    @expose("/query/", methods=["POST"])
    def query(self) -> t.Any:
        connector = find_connector(request.args.get("name"))
        if not ActionForm().validate_on_submit():
            abort(400, "The page had expired; open it again and press Query.")
        record = run(connector, dry_run=True, started_by=_actor())
        if record.pk is None:
            flash(record.reason, "warning")
            return redirect(url_for(".edit", name=connector.name))
        return redirect(url_for("directory_runs.detail", run_id=str(record.pk)))


def _save(connector: Connector) -> list[str]:
    try:
        connector.save()
    except me.NotUniqueError:
        return [f"A connector called {connector.name!r} exists already."]
    except me.ValidationError as exc:
        return [str(exc.message) if getattr(exc, "message", None) else str(exc)]
    return []


class RunsView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        shown = page_of(SyncRun.objects.order_by("-started", "-id"), RUNS_PAGE)
        return self.render("dictadmin/directory_runs.html", runs=shown.pop("items"), **shown)

    @expose("/run/<run_id>/")
    def detail(self, run_id: str) -> t.Any:
        record = _run(run_id)
        shown = page_of(list(record.actions or []), ACTIONS_PAGE)
        return self.render("dictadmin/directory_run.html", run=record,
                           actions=shown.pop("items"), **shown, loadable=_loadable(record),
                           overrides=_overrides(record), action=ActionForm(),
                           # a run that wrote: history's batch of this run
                           changes_url=None if record.dry_run
                           else url_for("history.batch", batch=str(record.pk)))

    @expose("/run/<run_id>/load", methods=["POST"])
    def load(self, run_id: str) -> t.Any:
        record = _run(run_id)
        if not ActionForm().validate_on_submit():
            abort(400, "The page had expired; open the run again and press Load.")
        if not _loadable(record):
            flash("This run cannot be loaded (it was loaded already, or its read was not "
                  "complete).", "warning")
            return redirect(url_for(".detail", run_id=run_id))
        connector = find_connector(record.connector)
        loaded = run(connector, force=_overrides(record), expect=record.fingerprint,
                     started_by=_actor())
        if loaded.status == "complete":
            SyncRun.objects(pk=record.pk).update_one(set__loaded=True)
        if loaded.pk is None:
            flash(loaded.reason, "warning")
            return redirect(url_for(".detail", run_id=run_id))
        return redirect(url_for(".detail", run_id=str(loaded.pk)))

    @expose("/run/<run_id>/link", methods=["POST"])
    def link(self, run_id: str) -> t.Any:
        record = _run(run_id)
        if not ActionForm().validate_on_submit():
            abort(400, "The page had expired; open the run again.")
        key = request.args.get("key", "")
        action = next((a for a in record.actions or [] if a.get("key") == key
                       and a.get("kind") == "conflict" and a.get("record")), None)
        if action is None:
            abort(404)
        approvals.approve(record.connector, key, ObjectId(action["record"]), by=_actor())
        flash(f"{action['name']}: the next run links the entry to the existing record.",
              "success")
        return redirect(url_for(".detail", run_id=run_id))


def _run(run_id: str) -> SyncRun:
    record = SyncRun.objects(pk=ObjectId(run_id)).first() if ObjectId.is_valid(run_id) else None
    return record or abort(404)


def _overrides(record: SyncRun) -> bool:
    """Loading it overrides a guard (the admin saw the verdicts on the page)."""
    return any(not g.get("passed") and g.get("name") in HOLDING_GUARDS
               for g in record.guards or [])


def _loadable(record: SyncRun) -> bool:
    complete = all(g.get("passed") for g in record.guards or [] if g.get("name") == "complete")
    return record.status in ("preview", "held") and complete and not record.loaded \
        and bool(record.guards)

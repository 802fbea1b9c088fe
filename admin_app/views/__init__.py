"""The admin screens: one Flask-Admin instance whose record views follow the dictionary."""

from __future__ import annotations

from flask import Flask, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from .. import dictionary
from ..models import SLA, Contact, Contract, Customer, Ticket
from ..tickets.shown import when
from .api_page import ApiPageView
from .api_tokens import ApiTokensView
from .audit import AuditView
from .bulk_changes import BulkChangesView
from .catalog import ContractView, SLAView
from .dictionary_admin import DictionaryView
from .dictionary_rules import RulesView
from .directory import ConnectorView, RunsView
from .following import DictadminAdmin
from .history import HistoryView
from .home import HomeView
from .logins import LoginsView
from .outbox import OutboxView
from .records import ContactView, CustomerView, OrgView, RecordView
from .saved_views import SavedViewsView, panel
from .search_keys import SearchKeyJobView, announce
from .seed_upload import SeedUploadView
from .tickets import TicketView
from .webguests import WebGuestView

COMPANY = "Your Company"


def init_app(app: Flask) -> Admin:
    admin = DictadminAdmin(app, name="Dictadmin", index_view=HomeView(url="/admin"),
                           theme=Bootstrap4Theme(base_template="dictadmin/base.html"))
    record_views: list[RecordView] = [
        CustomerView(Customer, name="Customers", endpoint="customer", category=COMPANY),
        OrgView(Customer, name="Orgs", endpoint="org", category=COMPANY),
        ContactView(Contact, name="Contacts", endpoint="contact", category=COMPANY),
    ]
    for view in record_views:
        admin.add_view(view)
    admin.add_view(TicketView(Ticket, name="Tickets", endpoint="ticket"))
    app.add_template_filter(when, "when")
    admin.add_view(ContractView(Contract, name="Contracts", endpoint="contract",
                                category="Service"))
    admin.add_view(SLAView(SLA, name="SLAs", endpoint="sla", category="Service"))
    admin.add_view(DictionaryView(name="Dictionary", endpoint="dictionary", category="Data"))
    admin.add_view(RulesView(name="Rules", endpoint="rules", url="/admin/dictionary/rules",
                             category="Data"))
    admin.add_view(SearchKeyJobView(name="Search keys", endpoint="search_keys",
                                    url="/admin/dictionary/search-keys"))
    app.after_request(announce)  # a dictionary change's search-key job, on the next page
    admin.add_view(SeedUploadView(name="Import / Export", endpoint="seed", category="Data"))
    admin.add_view(OutboxView(name="Outbox", endpoint="outbox", category="Data"))
    admin.add_view(ApiPageView(name="API", endpoint="api_page", url="/admin/api",
                               category="Data"))
    admin.add_view(ConnectorView(name="Connectors", endpoint="directory", category="Directory"))
    admin.add_view(RunsView(name="Runs", endpoint="directory_runs", category="Directory"))
    admin.add_view(LoginsView(name="Logins", endpoint="logins", category="Access"))
    admin.add_view(ApiTokensView(name="API tokens", endpoint="api_tokens", category="Access"))
    admin.add_view(AuditView(name="Audit log", endpoint="audit", category="Access"))
    admin.add_view(WebGuestView(name="Make WebGuest Login", endpoint="webguest"))
    admin.add_view(HistoryView(name="History", endpoint="history"))
    admin.add_view(BulkChangesView(name="Bulk changes", endpoint="bulk", url="/admin/bulk"))
    admin.add_view(SavedViewsView(name="Saved views", endpoint="saved_views",
                                  url="/admin/saved-views"))
    app.add_template_global(panel, "saved_views_panel")  # the record lists' Views

    @app.before_request
    def take_dictionary_snapshot() -> None:
        """One version read per request, before anything renders: every view, menu entry
        and form of the request then works from this snapshot (see `following.py`)."""
        if request.endpoint is None or request.endpoint.endswith("static"):
            return
        if not request.path.startswith("/admin"):
            return
        dictionary.current_or_default()

    return admin

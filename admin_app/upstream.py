"""What Dictadmin relies on inside its libraries, declared once, so an upgrade is noticed.

Flask-Admin caches what a view shows when the view is built, and its templates wire
behaviour with inline `onclick`s the Content-Security-Policy blocks; following a
dictionary that changes at run time, and keeping the CSP, means overriding four of its
templates and reaching under its public API in a few places. MongoEngine, WTForms and
Marshmallow are reached under in a few more. Each place is declared here:

- `VERSIONS`: the version of each library the list below was checked against;
- `TEMPLATES`: each Flask-Admin template we override with a copy, the SHA-256 of the
  upstream file the copy was made from, and what the copy changes;
- `INTERNALS`: each private attribute, override or behaviour we rely on, where we use
  it, why, the tests that fail if an upgrade changes it, and what `tests/test_upgrades.py`
  checks still exists in the installed library.

`tests/test_upgrades.py` fails, naming the template or the internal and saying what to
re-check, when an installed version, an upstream template or an internal moves; it also
fails when the code reaches a private name of a library that is not declared here. The
table in docs/architecture.md ("Library internals we rely on") is written from this
module: `python -m admin_app.upstream --write` rewrites it, and the test checks it.
"""

from __future__ import annotations

import pathlib
import sys
from dataclasses import dataclass

# The versions the templates and internals below were checked against. `pyproject.toml`
# and the locks (requirements/*.txt) pin the same; litemongo's pin is its changes'
# (store/litemongo_changes, LITEMONGO_VERSION).
VERSIONS = {
    "flask-admin": "2.2.1",
    "wtforms": "3.3.2",
    "mongoengine": "0.29.3",
    "marshmallow": "4.4.0",
}

# Where Flask-Admin's templates live in its package; ours override them from
# admin_app/templates/ (the app's template folder wins over a blueprint's).
UPSTREAM_TEMPLATES = "templates/bootstrap4"


@dataclass(frozen=True)
class Template:
    """A Flask-Admin template we override with a copy of it.

    `changes` are (upstream text, our text) pairs: the copy is the upstream file with
    these replaced, under a leading `{# … #}` comment saying so."""

    path: str  # e.g. "admin/actions.html", under admin_app/templates/ and UPSTREAM_TEMPLATES
    sha256: str  # of the upstream file the copy was made from
    changes: tuple[tuple[str, str], ...]
    why: str


TEMPLATES = (
    Template(
        "admin/actions.html",
        "685288ebd9108462ae72a04b894303142f1f6b953834295a85f4c4e8d233a514",
        (('<a class="dropdown-item" href="javascript:void(0)"\n'
          "               onclick=\"return modelActions.execute('{{ p[0] }}');\">",
          '<a class="dropdown-item" href="#" role="button"\n'
          '               data-model-action="{{ p[0] }}">'),),
        "the list actions' `onclick` becomes `data-model-action`"),
    Template(
        "admin/model/layout.html",
        "9801f7f6e21b6dfef6231ea0a2e297ff9903692e894ac1f72e84bd6dddea8cbe",
        (('<a href="javascript:void(0)" class="dropdown-item filter" onclick="return false;">',
          '<a href="#" class="dropdown-item filter" role="button">'),),
        "the filter links' `return false` goes"),
    Template(
        "admin/model/row_actions.html",
        "4dc1ade152ecd029860ea8248d10d60ec558571d798ccb20017cd2cc4bb42a7d",
        (("<button onclick=\"return faHelpers.safeConfirm('{{ _gettext('Are you sure you "
          "want to delete this record?') }}');\"",
          "<button data-confirm=\"{{ _gettext('Are you sure you want to delete this "
          "record?') }}\""),),
        "the delete button's `onclick` becomes `data-confirm`"),
    Template(
        "admin/model/inline_list_base.html",
        "9385d36000f838cdc0cd90bc310baa5a6e328c738b9ff862f36c75661e1df23b",
        (('href="javascript:void(0)" class="btn btn-primary" role="button" '
          "onclick=\"faForm.addInlineField(this, '{{ field.id }}');\">",
          'href="#" class="btn btn-primary" role="button" '
          'data-add-inline-field="{{ field.id }}">'),),
        "the inline list's Add `onclick` becomes `data-add-inline-field`"),
)


@dataclass(frozen=True)
class Check:
    """One thing the installed library must still have.

    `target` is "module:Qualified.name" (or a module), or a file in an installed package
    ("flask_admin/static/admin/js/form.js"). With `attribute`, the target has it (a class
    attribute or method, or, with `instance`, an attribute its source sets on `self`);
    with `params`, the callable's parameters after `self` begin with them; with `says`,
    the target's source (or the file) holds that text."""

    target: str
    attribute: str = ""
    instance: bool = False
    params: tuple[str, ...] = ()
    says: str = ""

    def __str__(self) -> str:
        name = f"{self.target}.{self.attribute}" if self.attribute else self.target
        if self.params:
            return f"{name}({', '.join(self.params)}, …)"
        return f"{name} saying {self.says!r}" if self.says else name


@dataclass(frozen=True)
class Internal:
    """Something under a library's public API that our code relies on.

    `where` pairs a module of ours (under admin_app/) with text it holds where it relies
    on this, so an entry the code no longer needs is noticed; `names` are the library's
    private names this entry covers (the test finds every private library name the code
    uses and asks that an entry name it, for each module using it)."""

    library: str
    what: str  # Markdown, for the doc's table
    where: tuple[tuple[str, str], ...]
    why: str
    tests: tuple[str, ...]  # "test_file.py" or "test_file.py::test_name", under tests/
    checks: tuple[Check, ...]
    names: tuple[str, ...] = ()


FA_VIEW = "flask_admin.model.base:BaseModelView"
ME_VIEW = "flask_admin.contrib.mongoengine.view:ModelView"
ME_DOC = "mongoengine.document:Document"

INTERNALS = (
    # -- Flask-Admin -------------------------------------------------------------------
    Internal(
        "flask-admin", "`BaseModelView._refresh_cache()`",
        (("views/following.py", "_refresh_cache()"),),
        "a view copy derived for a dictionary version recomputes its list columns, labels "
        "and search from the attributes `follow_dictionary` set",
        ("test_dictionary.py::test_relabel_shows_on_the_next_form_and_list",
         "test_dictionary_screens.py::test_relabel_department_shows_on_the_next_form_and_list"),
        (Check(FA_VIEW, "_refresh_cache"), Check(ME_VIEW, "_refresh_cache")),
        ("_refresh_cache",)),
    Internal(
        "flask-admin", "`BaseView._run_view(fn, …)` (every exposed view function runs "
        "through it) and `helpers.set_current_view`",
        (("views/following.py", "_run_view"), ("views/dictionary_admin.py", "_run_view")),
        "each request runs on the view copy for the dictionary snapshot it began with; a "
        "dictionary change starts its search-key rewrite as a job",
        ("test_threaded_views.py::test_a_page_begun_before_a_change_is_finished_in_its_own_"
         "version",
         "test_search_keys_upkeep.py::test_the_change_is_saved_at_once_and_its_job_rewrites_"
         "the_keys"),
        (Check("flask_admin.base:BaseView", "_run_view"),
         Check("flask_admin.helpers", "set_current_view")),
        ("_run_view",)),
    Internal(
        "flask-admin", "`Admin._add_view_to_menu(view)`, and `MenuView` keeping its view "
        "as `_view`",
        (("views/following.py", "_add_view_to_menu"), ("views/following.py", "self._view")),
        "a dictionary-following view's menu entry reads its name from the request's copy "
        "(Customers, Users…)",
        ("test_dictionary.py::test_renaming_levels_renames_the_menu",
         "test_profiles.py::test_itsm_profile_says_users_and_csm_switches_back"),
        (Check("flask_admin.base:Admin", "_add_view_to_menu"),
         Check("flask_admin.menu:MenuView", "_view", instance=True)),
        ("_add_view_to_menu", "_view")),
    Internal(
        "flask-admin", "`ModelView.init_search()` filling `_search_fields`, and "
        "overriding `ModelView._search(query, term)`",
        (("views/record_lists.py", "def _search("), ("views/records.py", "self._search_fields"),
         ("views/tickets.py", "def _search(")),
        "the search box asks for search keys (`models/search.py`): every typed word starts "
        "a word of a searchable field, equalities an index serves, never a pattern",
        ("test_records.py::test_search_finds_by_dictionary_searchable_fields_literally",
         "test_tickets.py::test_a_ticket_is_found_by_the_start_of_any_word_of_its_summary_"
         "or_description",
         "test_query_shapes.py::test_a_ticket_search_asks_for_search_keys_newest_first"),
        (Check(ME_VIEW, "_search", params=("query", "search_term")),
         Check(ME_VIEW, "init_search"),
         Check(ME_VIEW, "_search_fields", instance=True)),
        ("_search", "_search_fields")),
    Internal(
        "flask-admin", "`QueryAjaxModelLoader._cached_fields`, `get_list(query, offset, "
        "limit)`",
        (("forms/lookups.py", "_cached_fields"),),
        "2.2.1's own `get_list` is broken (calls `.filter` on the search text); ours "
        "replaces it",
        ("test_lookups.py::test_stock_flask_admin_loader_fails_on_every_search",
         "test_lookups.py", "test_browser.py::test_org_dropdown_searches_live_orgs_as_you_type"),
        (Check("flask_admin.contrib.mongoengine.ajax:QueryAjaxModelLoader", "_cached_fields",
               instance=True),
         Check("flask_admin.contrib.mongoengine.ajax:QueryAjaxModelLoader", "get_list",
               params=("query", "offset", "limit"))),
        ("_cached_fields",)),
    Internal(
        "flask-admin", "`AjaxSelectField._formdata` (the id as posted)",
        (("forms/records.py", "_formdata"),),
        "a chosen record that no longer exists is an error, not a silent blank",
        ("test_records.py::test_an_org_that_no_longer_exists_is_an_error_not_a_blank",),
        (Check("flask_admin.model.fields:AjaxSelectField", "_formdata", instance=True),),
        ("_formdata",)),
    Internal(
        "flask-admin", "overriding `create_model(form)` (returning the record, which "
        "`create_view` redirects to) and `update_model(form, model)`, and calling "
        "`handle_view_exception`, `after_model_change` and "
        "`contrib.mongoengine.helpers.format_error` from them",
        (("views/records.py", "def create_model("), ("views/records.py", "def update_model(")),
        "both write through the record write path; a save writes only the fields the user "
        "changed, keeps other people's changes and refuses only a field both changed",
        ("test_form_merge.py::test_a_change_to_another_field_is_kept_and_the_page_says_whose",
         "test_form_merge.py::test_create_through_the_form_records_one_created_change_set",
         "test_record_revisions.py::test_two_people_saving_one_field_the_second_is_told_and_"
         "then_saves_both"),
        (Check(FA_VIEW, "create_model", params=("form",)),
         Check(FA_VIEW, "update_model", params=("form", "model")),
         Check(FA_VIEW, "create_view", says="model = self.create_model(form)"),
         Check(FA_VIEW, "handle_view_exception"), Check(FA_VIEW, "after_model_change"),
         Check("flask_admin.contrib.mongoengine.helpers", "format_error"))),
    Internal(
        "flask-admin", "overriding `scaffold_form()`, `create_form(obj)`, `edit_form(obj)`",
        (("views/records.py", "def scaffold_form("), ("views/tickets.py", "def scaffold_form(")),
        "forms are built per request for the record's (or the chosen) Level, or with the "
        "dictionary's brought-forward fields, never from Flask-Admin's cached class",
        ("test_records.py::test_switching_level_to_org_shows_org_layout_and_keeps_typed_values",
         "test_tickets.py"),
        (Check(FA_VIEW, "scaffold_form"), Check(FA_VIEW, "create_form", params=("obj",)),
         Check(FA_VIEW, "edit_form", params=("obj",)))),
    Internal(
        "flask-admin", "re-exposing `create_view` at `/new/` and `edit_view` at `/edit/`",
        (("views/records.py", '@expose("/new/"'), ("views/records.py", '@expose("/edit/"')),
        "a Level switch lays the form out again without Flask-Admin's \"Failed to create "
        "record.\"",
        ("test_records.py::test_switching_level_to_org_shows_org_layout_and_keeps_typed_values",
         "test_records.py::test_switching_level_on_an_edit_page_shows_that_level_and_saves_"
         "nothing"),
        (Check(FA_VIEW, "create_view"), Check(FA_VIEW, "edit_view"))),
    Internal(
        "flask-admin", "the `get_list(page, sort_column, sort_desc, search, filters, "
        "execute, page_size)` signature, `_sortable_columns`, and `get_query()` being the "
        "base of every list",
        (("views/references.py", "_sortable_columns"), ("views/records.py", "def get_query("),
         ("views/tickets.py", "def get_query(")),
        "one query per page for reference names, and a sort only by a column an index "
        "orders; the Current / Archived restriction and one customer's tickets",
        ("test_records.py::test_archive_hides_from_the_list_and_unticking_restores",
         "test_query_shapes.py::test_every_query_the_main_flows_send_is_served_by_a_declared_"
         "index", "test_crawl.py"),
        (Check(ME_VIEW, "get_list", params=("page", "sort_column", "sort_desc", "search",
                                            "filters", "execute", "page_size")),
         Check(ME_VIEW, "get_list", says="query = self.get_query()"),
         Check(FA_VIEW, "_sortable_columns", instance=True)),
        ("_sortable_columns",)),
    Internal(
        "flask-admin", "`_get_list_extra_args` keeping unknown URL arguments in paging "
        "and sorting links",
        (("views/records.py", "ARCHIVED_ARG"), ("views/tickets.py", "CUSTOMER_ARG")),
        "the Archived tab (`?archived=1`) stays on archived records from page to page; one "
        "record's tickets (`?customer=`) stay one record's",
        ("test_records.py::test_the_archived_tab_keeps_listing_archived_records_across_pages",
         "test_tickets.py::test_one_records_ticket_list_keeps_to_that_record_across_pages"),
        (Check(FA_VIEW, "_get_list_extra_args", says="extra_args=dict("),)),
    Internal(
        "flask-admin", "overriding `BaseModelView._get_list_url(view_args)`, and "
        "`index_view` reading `_list_columns` and `_sortable_columns` from the view",
        (("views/record_lists.py", "def _get_list_url("),
         ("views/record_lists.py", "view._list_columns")),
        "a list's paging and sorting links keep every filter (a repeated argument, which "
        "`extra_args` keeps once); the columns a URL chooses (`cols=`) are shown, on a "
        "copy of the view made for the request",
        ("test_list_filters.py::test_paging_and_sorting_links_keep_every_filter",
         "test_list_filters.py::test_the_columns_a_url_chooses_are_shown_in_its_order"),
        (Check(FA_VIEW, "_get_list_url", params=("view_args",)),
         Check(FA_VIEW, "index_view", says="list_columns=self._list_columns"),
         Check(FA_VIEW, "_list_columns", instance=True)),
        ("_get_list_url", "_list_columns")),
    Internal(
        "flask-admin", "Select2 3's jQuery `change` event on an AJAX field's hidden input, "
        "and `.select2('data', …)`",
        (("static/dictadmin.js", "select2('data'"),),
        "choosing a customer refills the ticket form",
        ("test_browser_tickets.py::test_logging_a_ticket_end_to_end",),
        (Check("flask_admin/static/vendor/select2/select2.min.js", says="Version: 3.5"),)),
    Internal(
        "flask-admin", "deleting a field from a built form (`del form[\"customer\"]`)",
        (("views/tickets.py", 'del form["customer"]'),),
        "a logged ticket keeps its customer",
        ("test_tickets.py::test_a_logged_ticket_keeps_what_was_copied_when_the_customer_is_"
         "edited",),
        (Check("wtforms.form:BaseForm", "__delitem__"),)),
    Internal(
        "flask-admin", "`api_file_view` at `/api/file/` (mongoengine `ModelView`)",
        (("views/secure.py", "def api_file_view("),),
        "turned off: no GridFS files, and the embedded store has no GridFS",
        ("test_requests_refused.py::test_gridfs_file_endpoint_is_not_offered",),
        (Check(ME_VIEW, "api_file_view"),)),
    Internal(
        "flask-admin", "the `admin/lib.html` macro `render_field` printing "
        "`field.description` with `|safe`",
        (("forms/records.py", "escape(field.help_text)"),
         ("tickets/form.py", "escape(definition.help_text)")),
        "help text is an admin's words: passed in escaped, shown as text",
        ("test_records.py::test_markup_in_help_text_and_labels_is_shown_as_text",
         "test_browser_markup.py"),
        (Check(f"flask_admin/{UPSTREAM_TEMPLATES}/admin/lib.html",
               says="{{ field.description|safe }}"),)),
    Internal(
        "flask-admin", "template blocks `title`, `head`, `head_tail`, `access_control`, "
        "`page_title`, `body`, `tail` (`admin/base.html`), `create_form`, `edit_form`, "
        "`model_menu_bar`, `model_list_table` (`admin/model/`)",
        (("templates/dictadmin/base.html", "block access_control"),
         ("templates/dictadmin/record_create.html", "block create_form"),
         ("templates/dictadmin/record_edit.html", "block edit_form"),
         ("templates/dictadmin/record_list.html", "block model_menu_bar"),
         ("templates/dictadmin/record_list.html", "block model_list_table")),
        "headings in the Level's words, the dictionary's form layout, the Archived tab, "
        "the list's filters and count, error pages, the signed-in email and the Sign out "
        "form",
        ("test_crawl.py", "test_browser_csp.py"),
        tuple(Check(f"flask_admin/{UPSTREAM_TEMPLATES}/admin/{file}",
                    says=f"{{% block {block} %}}")
              for file, block in (
                  ("base.html", "title"), ("base.html", "head"), ("base.html", "head_tail"),
                  ("base.html", "access_control"), ("base.html", "page_title"),
                  ("base.html", "body"), ("base.html", "tail"),
                  ("model/create.html", "create_form"), ("model/edit.html", "edit_form"),
                  ("model/list.html", "model_menu_bar"),
                  ("model/list.html", "model_list_table")))),
    Internal(
        "flask-admin", "`BaseView.render()` on `admin.index_view` outside a view",
        (("errors.py", "index_view.render("),),
        "error pages inside the admin layout",
        ("test_requests_refused.py",),
        (Check("flask_admin.base:BaseView", "render"),)),
    Internal(
        "flask-admin", "`is_accessible()` and `inaccessible_callback()` on every view, "
        "`is_visible()`",
        (("views/secure.py", "def is_accessible("), ("views/webguests.py", "def is_visible("),
         ("views/search_keys.py", "def is_visible(")),
        "roles decided in one place: 403 or the sign-in page; screens reached from a record "
        "or a job kept out of the menu",
        ("test_roles.py", "test_crawl.py"),
        (Check("flask_admin.base:BaseView", "is_accessible"),
         Check("flask_admin.base:BaseView", "inaccessible_callback"),
         Check("flask_admin.base:BaseView", "is_visible"))),
    Internal(
        "flask-admin", "the script globals `modelActions.execute(name)` (`actions.js`) and "
        "`faForm.addInlineField(link, id)` (`form.js`), and the filter script acting on "
        "clicks on `.field-filters a.filter`",
        (("static/dictadmin.js", "modelActions.execute"),
         ("static/dictadmin.js", "faForm.addInlineField")),
        "the `data-` attributes of the overridden templates call them, as the `onclick`s did",
        ("test_browser_csp.py::test_add_filter_adds_a_filter_row_and_applying_it_filters",
         "test_browser_csp.py::test_the_pager_and_menus_do_not_follow_javascript_links"),
        (Check("flask_admin/static/admin/js/actions.js", says="var modelActions = "),
         Check("flask_admin/static/admin/js/actions.js", says="this.execute = function(name)"),
         Check("flask_admin/static/admin/js/form.js", says="var faForm = window.faForm"),
         Check("flask_admin/static/admin/js/form.js",
               says="this.addInlineField = function(el, elID)"),
         Check("flask_admin/static/admin/js/filters.js",
               says="$('a.filter', filtersElement).click("))),
    # -- WTForms -------------------------------------------------------------------------
    Internal(
        "wtforms", "`BaseForm._fields` (a built form's fields by name)",
        (("views/records.py", "form._fields"),),
        "values typed into fields the chosen Level does not show travel along as hidden "
        "inputs, so switching Level and back loses nothing",
        ("test_records.py::test_switching_level_to_org_shows_org_layout_and_keeps_typed_values",),
        (Check("wtforms.form:BaseForm", "_fields", instance=True),),
        ("_fields",)),
    # -- MongoEngine ---------------------------------------------------------------------
    Internal(
        "mongoengine", "`Document._get_collection()` (the model's pymongo collection)",
        tuple((path, "._get_collection()") for path in (
            "api/catalog_api.py", "api/tickets_api.py", "security/api_rate.py",
            "security/api_tokens.py",
            "customising/fields.py", "customising/retype.py", "dictionary/impact.py",
            "directory/runs.py", "importer/engine.py", "importer/export.py",
            "importer/identities.py", "mail/outbox.py", "models/tickets.py",
            "portal/signin.py", "records/history.py", "records/upkeep.py", "records/write.py",
            "records/list_export.py", "security/links.py", "tickets/daily.py",
            "views/history/__init__.py", "views/history/shown.py", "views/home.py")),
        "atomic single-document writes (compare-and-set, `$set` of a few fields), batch "
        "reads and the importer's bulk writes",
        ("test_records_write.py::test_a_create_records_its_values_once_and_an_update_only_"
         "what_changed", "test_mail.py::test_two_senders_at_once_send_one_copy"),
        (Check(ME_DOC, "_get_collection"),),
        ("_get_collection",)),
    Internal(
        "mongoengine", "`Document._get_collection_name()`",
        (("dictionary/snapshot.py", "_get_collection_name()"),
         ("directory/orgs.py", "_get_collection_name()"),
         ("directory/plan.py", "_get_collection_name()")),
        "a collection named without opening it: the dictionary's version read, the "
        "directory plan's record reads",
        ("test_threaded_views.py::test_concurrent_pages_each_show_one_dictionary_version",
         "test_directory_sync.py::test_company_links_orgs_by_normalised_name_creates_unknown_"
         "ones_and_empty_keeps_the_org"),
        (Check(ME_DOC, "_get_collection_name"),),
        ("_get_collection_name",)),
    Internal(
        "mongoengine", "`Document._fields` (the declared fields by name) and "
        "`_meta[\"index_specs\"]` (the declared indexes)",
        (("forms/lookups.py", "._fields"), ("customising/filing.py", "._fields"),
         ("customising/fields.py", "._fields"), ("views/records.py", '_meta["index_specs"]')),
        "whether a model keeps search keys; which keys a dictionary definition may set; a "
        "list column is offered for sorting only when an index orders it",
        ("test_lookups.py", "test_dictionary_file.py",
         "test_query_shapes.py::test_every_query_the_main_flows_send_is_served_by_a_declared_"
         "index"),
        (Check("mongoengine.base.metaclasses:DocumentMetaclass", says='attrs["_fields"]'),
         Check(ME_DOC, "_meta"),
         Check("mongoengine.base.metaclasses:TopLevelDocumentMetaclass", says="index_specs")),
        ("_fields", "_meta")),
    Internal(
        "mongoengine", "`Document._data` (stored values, read without dereferencing)",
        (("models/users.py", "_data.get("), ("portal/access.py", "_data.get("),
         ("views/api_tokens.py", "_data.get("), ("views/saved_views.py", "_data.get(")),
        "a WebGuest whose customer record is gone reads as having none, where MongoEngine "
        "would raise; the tokens screen names each token's login from one query for the "
        "page, not one dereference a row",
        ("test_webguest.py::test_archiving_the_customer_shuts_the_portal_and_restoring_opens_"
         "it", "test_portal.py"),
        (Check("mongoengine.base.document:BaseDocument", "_data", instance=True),),
        ("_data",)),
    Internal(
        "mongoengine", "`Document._get_changed_fields()` and `_mark_as_changed(name)`",
        (("directory/connectors.py", "_get_changed_fields()"),
         ("directory/connectors.py", "_mark_as_changed(")),
        "a change of a connector's scope moves its configuration revision; a field edited "
        "in place is saved",
        ("test_directory_connectors.py::test_a_change_of_scope_moves_the_config_revision",
         "test_directory_connectors.py::test_aliases_with_dots_are_stored"),
        (Check("mongoengine.base.document:BaseDocument", "_get_changed_fields"),
         Check("mongoengine.base.document:BaseDocument", "_mark_as_changed")),
        ("_get_changed_fields", "_mark_as_changed")),
    Internal(
        "mongoengine", "the connection registry (`connection._connection_settings`, "
        "`_connections`, `_dbs`), `Document._disconnect()` and "
        "`base.common._get_documents_by_db`",
        (("store_commands.py", "registry._connections"),),
        "`flask store copy` points the models at the target store for the copy, then back",
        ("test_store_copy.py::test_a_copy_moves_every_collection_verified_and_the_same_"
         "passwords_sign_in",),
        (Check("mongoengine.connection", "_connection_settings"),
         Check("mongoengine.connection", "_connections"),
         Check("mongoengine.connection", "_dbs"),
         Check(ME_DOC, "_disconnect"),
         Check("mongoengine.base.common", "_get_documents_by_db")),
        ("_connection_settings", "_connections", "_dbs", "_disconnect",
         "_get_documents_by_db")),
    # -- Marshmallow ---------------------------------------------------------------------
    Internal(
        "marshmallow", "`Schema._declared_fields`, and overriding `fields.Date._deserialize`",
        (("importer/schemas.py", "_declared_fields"), ("importer/engine.py", "_declared_fields"),
         ("importer/schemas.py", "def _deserialize(")),
        "a load checks only the fields a file gives; a date is stored as a midnight datetime",
        ("test_seed.py::test_update_sets_only_the_given_fields",
         "test_seed.py::test_every_kind_the_importer_writes_reads_back_through_its_model"),
        (Check("marshmallow.schema:Schema", "_declared_fields"),
         Check("marshmallow.fields:Date", "_deserialize",
               params=("value", "attr", "data"))),
        ("_declared_fields", "_deserialize")),
    # -- mongomock / litemongo -----------------------------------------------------------
    Internal(
        "litemongo", "an embedded client's `_store._dirpath` (its folder), and a "
        "collection's query index's `_docs`",
        (("store/snapshot.py", "_store._dirpath"), ("store/warm.py", "_dirpath"),
         ("store/warm.py", "._docs"), ("store/counting.py", "index._docs"),
         ("store/counting.py", "index._fields")),
        "a backup holds every collection file's lock at one moment; a worker warms the "
        "embedded store's indexes before it serves; a list counts what matches from the "
        "hash index and the collection file's keys table, reading no record",
        ("test_store_backup.py::test_a_backup_taken_during_a_stream_of_writes_restores_a_"
         "state_that_existed",
         "test_list_filters.py::test_the_embedded_store_counts_from_its_index"),
        (Check("litemongo.client:MongoClient", "_store", instance=True),
         Check("litemongo.sqlite_store:ServerStore", "_dirpath", instance=True),
         Check("litemongo._vendor.mongomock.indexing:CollectionIndexes", "_docs",
               instance=True),
         Check("litemongo._vendor.mongomock.indexing:CollectionIndexes", "_fields",
               instance=True),
         Check("litemongo.sqlite_store:CollectionStore", "_connection", instance=True)),
        ("_store", "_dirpath", "_docs", "_fields", "_connection")),
)

# Private-looking names a library documents as its API: not internals.
DOCUMENTED = {
    "_get_current_object": "Werkzeug documents LocalProxy._get_current_object()",
}

TABLE_START = "<!-- internals table: written by `python -m admin_app.upstream --write` -->"
TABLE_END = "<!-- end of the internals table -->"
DOC = pathlib.Path("docs/architecture.md")
LIBRARY_WORDS = {"flask-admin": "Flask-Admin", "wtforms": "WTForms",
                 "mongoengine": "MongoEngine", "marshmallow": "Marshmallow",
                 "litemongo": "litemongo / mongomock"}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _paths(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"`{path}`" for path in dict.fromkeys(path for path, _ in pairs))


def _tests(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def table() -> str:
    """The doc's table of internals, as Markdown, from TEMPLATES and INTERNALS."""
    rows = ["| library | what we use | where (under `admin_app/`) | why | the tests that "
            "catch a change |", "|---|---|---|---|---|"]
    for entry in INTERNALS:
        rows.append(f"| {LIBRARY_WORDS[entry.library]} | {_cell(entry.what)} | "
                    f"{_paths(entry.where)} | {_cell(entry.why)} | {_tests(entry.tests)} |")
    copies = ", ".join(f"`{t.path}` ({t.why})" for t in TEMPLATES)
    rows.append(
        f"| Flask-Admin | {len(TEMPLATES)} **overridden templates**, copies of Flask-Admin "
        f"{VERSIONS['flask-admin']}'s `{UPSTREAM_TEMPLATES}/…` with one change each: "
        f"{copies}; the app's template folder wins over Flask-Admin's | `templates/admin/` | "
        f"the CSP runs no inline script | `test_upgrades.py` (each upstream file's SHA-256, "
        f"each copy is upstream plus its change), "
        f"`test_security_headers.py::test_flask_admin_templates_with_inline_handlers_are_"
        f"overridden`, `test_browser_csp.py` |")
    return "\n".join(rows) + "\n"


def section(text: str) -> str:
    """The table as a document holds it, between its markers."""
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[start:end].strip("\n") + "\n"


def write(path: pathlib.Path = DOC) -> None:
    """Rewrite the table between its markers in `path`."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    path.write_text(text[:start] + "\n" + table() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
        print(f"{DOC}: the internals table is written.")
    else:
        print(table(), end="")

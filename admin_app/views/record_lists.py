"""The Customer, Org and Contact lists as their URL says: filters from the dictionary, the
search box, the Current / Archived tabs, the columns, and how many records match.

What the URL asks is read once per request into a `records.listing.ListState` (the one
reading the API, saved views, bulk changes and exports share); the list's query, its
links (pages, sorting, tabs, removing a filter) and its words come from that state.
The registered view is shared by every request a worker serves (`following.py`), so the
columns a URL chooses (`cols=`) are set on a copy made for the request.
"""

from __future__ import annotations

import copy
import json
import typing as t
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from flask import g, request, url_for
from flask_admin import expose
from mongoengine import QuerySet

from .. import dictionary
from ..records import filter_keys, listing
from ..records.listing import ListState
from ..records.write import collection_of
from . import references


@dataclass(frozen=True)
class Control:
    """One filter's control on the panel: its field, how it is asked, what it holds."""

    field: t.Any
    mode: str
    key: str  # the URL argument, f.<name>
    chosen: tuple[str, ...] = ()  # choices, "yes"/"no", references' ids (as text)
    typed: str = ""  # text: the words typed (starts with)
    exact: str = ""  # text: the whole value
    low: str = ""  # a range's from and to, as typed
    high: str = ""
    lookup_url: str = ""  # a reference's search-as-you-type
    lookup_json: str = ""  # the chosen records, [[id, name], …], for the lookup box

    @property
    def id(self) -> str:
        return "filter-" + self.field.name


class FilteredList:
    """Mixin for a record list view (`RecordView`): `entity` and `level` say which."""

    entity: str
    level: str

    # -- the state ---------------------------------------------------------------------

    def list_level(self) -> str | None:
        return self.level if self.entity == "customer" else None

    def list_state(self) -> ListState:
        """What this request's URL asks of the list (read once per request)."""
        states = g.setdefault("record_list_states", {})
        key = (self.entity, self.level)
        if key not in states:
            states[key] = ListState.from_args(request.args, dictionary.current(),
                                              self.entity, self.list_level())
        return states[key]

    def state_url(self, state: ListState, **extra: t.Any) -> str:
        """The list's URL for `state` (and Flask-Admin's `page`, `page_size`)."""
        args = state.to_args() + [(k, str(v)) for k, v in extra.items() if v]
        base = url_for(".index_view")
        return f"{base}?{urlencode(args)}" if args else base

    # -- the list's query and links (Flask-Admin's hooks) --------------------------------

    def get_query(self) -> QuerySet:
        return self.model.objects(__raw__=self.list_state().query())  # type: ignore[attr-defined]

    def _search(self, query: QuerySet, search_term: str) -> QuerySet:
        # The state's query holds the search words already (`ListState.query`).
        return query

    def _get_list_url(self, view_args: t.Any) -> str:
        """Paging and sorting links (Flask-Admin's): the state's filters, tab and columns
        (every value of a repeated argument), with the page, sort and search asked."""
        state = self.list_state()
        kept = [(k, v) for k, v in state.to_args()
                if k not in (listing.SEARCH, listing.SORT, listing.DESC)]
        asked = [(listing.SEARCH, view_args.search), (listing.SORT, view_args.sort),
                 (listing.DESC, 1 if view_args.sort_desc else None),
                 ("page", view_args.page or None)]
        size = self.get_safe_page_size(view_args.page_size)  # type: ignore[attr-defined]
        if size != self.page_size:  # type: ignore[attr-defined]
            asked.append(("page_size", size))
        args = kept + [(k, str(v)) for k, v in asked if v is not None and v != ""]
        base = url_for(".index_view")
        return f"{base}?{urlencode(args)}" if args else base

    def archived_list_url(self, archived: bool) -> str:
        """The list of current records, or of archived ones, with the same filters."""
        state = self.list_state()
        return self.state_url(replace(state, archived=archived))

    def showing_archived(self) -> bool:
        return self.list_state().archived

    @expose("/")
    def index_view(self) -> t.Any:
        """Flask-Admin's list, on a copy of the view holding this request's columns."""
        state = self.list_state()
        view = copy.copy(self)
        view._list_columns = [(f.name, f.label) for f in state.columns]
        view._sortable_columns = {name: name for name in state.sortable()}
        view.reference_columns = [f for f in state.columns if f.kind.is_reference]
        view.list_count = None
        if state.sort is None and state.order():  # a narrowed list: by name
            view.column_default_sort = [(name, way < 0) for name, way in state.order()]
        return super(FilteredList, view).index_view()  # type: ignore[misc]

    def get_list(self, page: int | None, sort_column: str, sort_desc: bool, search: str | None,
                 filters: t.Any, execute: bool = True, page_size: int | None = None) -> t.Any:
        count, rows = super().get_list(  # type: ignore[misc]
            page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size)
        if execute:
            self.list_count = listing.counted(self.list_state(), collection_of(self.entity))
        return count, rows

    # -- what the page says --------------------------------------------------------------

    def count_words(self, page: int | None, page_size: int, shown: int) -> str:
        """"1–20 of 7,342" (or "of more than 10,000", "of many"), for the page shown."""
        page = min(page or 0, references.MAX_PAGE)
        return listing.count_words(page * page_size + 1, shown, getattr(self, "list_count", None),
                                   tried_all=self.list_state().count_all)

    def count_all_url(self, shown: int) -> str | None:
        """The same list asked to count every match, when this page said "of many"."""
        state = self.list_state()
        if shown == 0 or state.count_all or getattr(self, "list_count", None) is not None:
            return None
        return self.state_url(replace(state, count_all=True))

    def filter_controls(self) -> list[Control]:
        """The panel's controls: one per field this list filters on, by its type."""
        state = self.list_state()
        controls = []
        for definition in state.available:
            how = filter_keys.mode(definition)
            key = listing.FILTER + definition.name
            asked = state.filter_on(definition.name)
            typed = state.typed
            control = Control(definition, how, key)
            if how == filter_keys.TEXT:
                control = replace(control, typed=typed.get(key, ""),
                                  exact=typed.get(f"{key}.{listing.EXACT}", ""))
            elif how in filter_keys.RANGED:
                both = typed.get(key, "")
                control = replace(control, low=typed.get(f"{key}.{listing.MIN}", both),
                                  high=typed.get(f"{key}.{listing.MAX}", both))
            elif asked is not None:
                if how == filter_keys.BOOLEAN:
                    control = replace(control, chosen=("yes" if asked.values[0] else "no",))
                else:
                    control = replace(control, chosen=tuple(str(v) for v in asked.values))
            if how == filter_keys.REFERENCE:
                chosen = [[str(v), listing.record_name(definition, v)]
                          for v in (asked.values if asked else ())]
                control = replace(control, lookup_url=url_for(".ajax_lookup",
                                                              name=definition.target),
                                  lookup_json=json.dumps(chosen) if chosen else "")
            controls.append(control)
        return controls

    def active_filters(self) -> list[tuple[str, str]]:
        """Each filter in words, with the link that removes it."""
        state = self.list_state()
        return [(one.describe(), self.state_url(state.without(one.name)))
                for one in state.filters]

    def clear_filters_url(self) -> str:
        return self.state_url(self.list_state().without())

    def list_hidden_args(self) -> list[tuple[str, str]]:
        """What the filter form carries besides its controls: the tab, the columns and
        the sort (a sort a filter cannot keep is dropped by the state)."""
        return [(k, v) for k, v in self.list_state().to_args()
                if k in (listing.ARCHIVED, listing.COLUMNS, listing.SORT, listing.DESC)]

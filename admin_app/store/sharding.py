"""Where each collection lives on a sharded MongoDB cluster: its shard key, and why.

This is the one declaration `docs/scaling.md` quotes and `tests/test_query_shapes.py`
checks against: every query shape the main flows send is classified as *targeted* (its
filter pins every field of the collection's shard key, so mongos sends it to the shard,
or the few shards, owning those values) or *broadcast* (sent to every shard, each
answering from its own indexes, merged by mongos). A broadcast on a hot path (a list
page, a lookup, a save) is allowed only with a reason given here, which the doc quotes.

Nothing here runs against a store: a cluster is sharded by an operator, once, with the
commands `shard_commands` prints (docs/scaling.md lists them). The app sends the same
queries to one server, a replica set or a cluster.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

HASHED = "hashed"

# The reason shared by every small collection: one shard holds it whole, so every query
# of it goes to that one shard, however it is filtered.
SMALL = "small: one shard (the database's primary shard) holds it whole"


@dataclass(frozen=True)
class Placement:
    """A collection's shard key (none: unsharded), why, and the broadcasts it allows.

    `broadcasts` maps the fields a broadcast filter tests (sorted) to why a hot path may
    send it to every shard: what each shard then reads, and what it costs.
    """

    why: str
    key: tuple[tuple[str, int | str], ...] = ()
    broadcasts: t.Mapping[tuple[str, ...], str] = field(default_factory=dict)

    @property
    def sharded(self) -> bool:
        return bool(self.key)

    def targeted(self, pinned: t.Iterable[str]) -> bool:
        """Whether a filter that tests `pinned` fields by equality or `$in` reaches only
        the shards owning those values: it pins every field of the shard key (an unsharded
        collection is one shard's, so everything sent to it is)."""
        return {name for name, _ in self.key} <= set(pinned)


_LIST_PAGE = ("a list page: each shard walks its own (equality fields, sort column) index "
              "for one page (20, or skip + 20 up to page 50) and mongos merges the sorted "
              "pages; shards x page entries, no shard scans")
_SEARCH = ("a search or a lookup as an agent types: each shard walks its own (equality "
           "fields, search_keys, name) index for one page and mongos merges them; "
           "shards x page entries, no shard scans")
_CONTACTS_OF = ("a record's contacts (the record page, logging a ticket): each shard probes "
                "its (customer, archived, name) index for the handful it holds; shards x 1 "
                "index probe")

PLACEMENTS: dict[str, Placement] = {
    # -- records: the collections that grow ------------------------------------------
    "customers": Placement(
        "every save, revert and form open is by _id; a hashed _id spreads new records "
        "(ObjectIds grow) evenly, and the record's Level, Archive flag and Org all change, "
        "so none of them can key it",
        (("_id", HASHED),),
        {("archived", "level"): _LIST_PAGE,
         ("archived", "level", "search_keys"): _SEARCH,
         # the API's list filtered on its sort column (api/filters.py)
         **{tuple(sorted(("archived", "level", column))): _LIST_PAGE
            for column in ("name", "department", "location", "phone_1", "email")},
         ("archived", "level", "name", "search_keys"): _SEARCH}),
    "contacts": Placement(
        "as customers: saves are by _id, and a contact's customer (its only other "
        "candidate) can change",
        (("_id", HASHED),),
        {("archived",): _LIST_PAGE,
         ("archived", "search_keys"): _SEARCH,
         # the API's list filtered on its sort column (api/filters.py)
         **{tuple(sorted(("archived", column))): _LIST_PAGE
            for column in ("name", "job_title", "phone", "email")},
         ("archived", "name", "search_keys"): _SEARCH,
         ("archived", "customer"): _CONTACTS_OF,
         ("archived", "customer", "name"): _CONTACTS_OF,  # the API's, filtered on name
         ("customer",): (
             "a record's contacts on its edit page: each shard probes its (customer, "
             "archived, name) index; shards x 1 index probe")}),
    "record_history": Placement(
        "a record's history is read by record (the History tab, a save over another's "
        "change); hashed, so one record's change sets live together and records spread "
        "evenly; a change set never moves to another record",
        (("record", HASHED),)),
    "tickets": Placement(
        "a record's tickets are read by customer on every record page and ticket form; "
        "a logged ticket never changes customer (views/tickets.py)",
        (("customer", HASHED),),
        {(): ("the ticket list, newest first: each shard walks its own logged_at index "
              "for one page and mongos merges; shards x page entries"),
         ("search_keys",): (
             "a search of the ticket list: each shard walks its own (search_keys, "
             "-logged_at) index for one page and mongos merges them newest first; shards "
             "x page entries, no shard scans")}),
    # -- small or bounded: unsharded ---------------------------------------------------
    "api_request_counts": Placement(
        "counts expire (a TTL index); one document per token per minute"),
    "api_tokens": Placement(
        SMALL + "; looked up by its unique digest on every API request"),
    "audit_log": Placement(
        "append-only, a few hundred bytes per sign-in or admin action; shard it on "
        "{_id: hashed} if it outgrows one shard (its screen is admin-only)"),
    "contracts": Placement(SMALL),
    "slas": Placement(SMALL),
    "dictionary_entities": Placement(SMALL),
    "dictionary_fields": Placement(SMALL),
    "dictionary_layouts": Placement(SMALL),
    "dictionary_rules": Placement(SMALL),
    "dictionary_version": Placement(SMALL + "; read once per request by every process"),
    "dictionary_history": Placement(SMALL),
    "dictionary_type_changes": Placement(SMALL),
    "dictionary_type_change_values": Placement(
        "a type change's old values, kept only while it runs, then deleted"),
    "directory_approvals": Placement(SMALL),
    "directory_connectors": Placement(SMALL),
    "directory_leases": Placement(SMALL + "; one document per connector"),
    "directory_runs": Placement(SMALL),
    "mail_outbox": Placement(
        "one small notice per closed ticket, kept; its unique key (a notice is queued "
        "once) would have to lead any shard key, and a hashed key cannot be unique"),
    "password_links": Placement(SMALL),
    "record_history_intents": Placement("a batch's intent, deleted when the batch ends"),
    "seed_jobs": Placement(SMALL),
    "search_key_jobs": Placement(SMALL),
    "bulk_changes": Placement(SMALL + "; one document per bulk change an agent reviews"),
    "saved_views": Placement(
        SMALL + "; a few views per login, read by owner or by the shared flag on every "
        "list page"),
    "signin_failures": Placement(
        "counts expire (a TTL index); one document per throttled key"),
    "store_upkeep": Placement(SMALL + "; one marker per upkeep"),
    "users": Placement(
        "logins, WebGuests included, stay in the tens of thousands; its unique email "
        "would have to lead any shard key"),
}


def placement(collection: str) -> Placement:
    """The collection's placement; a collection nobody placed is an error the query-shape
    test reports, so a new collection gets a decision here and in docs/scaling.md."""
    try:
        return PLACEMENTS[collection]
    except KeyError:
        raise KeyError(f"{collection} has no placement in admin_app/store/sharding.py") \
            from None


def shard_commands(database: str) -> list[str]:
    """The mongosh commands that shard `database`'s collections as declared: each shard
    key's index (needed first when the collection already holds documents), then the key."""
    commands = [f'sh.enableSharding("{database}")']
    for name, where in PLACEMENTS.items():
        if where.sharded:
            key = "{ " + ", ".join(f"{field_name}: {_json(direction)}"
                                   for field_name, direction in where.key) + " }"
            commands.append(f'db.getSiblingDB("{database}").{name}.createIndex({key})')
            commands.append(f'sh.shardCollection("{database}.{name}", {key})')
    return commands


def _json(direction: int | str) -> str:
    return f'"{direction}"' if isinstance(direction, str) else str(direction)

"""The API's list requests, as flows for the query-shape recorder (tests/query_shapes.py).

Run by `tests/test_query_shapes.py` (with the main flows, on mongomock, checked against
the indexes and the shard keys) and by `tests/test_api_lists.py` (on both stores): every
sort both ways, a filter on each sort column (equality, `in`, no value, a range), filters
on fields with no index (checked on a bounded walk of the sort's index), combined
filters, the search alone and with sorts and filters, the Archived tab, a record's
contacts, each followed through several cursor pages of one record so the cursor's
`$or` is sent too.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from admin_app.models.records import CONTACT_SORTS, CUSTOMER_SORTS

from .query_shapes import Recorder

API = "/api/v1"
LISTED = {"customers": ("customer", CUSTOMER_SORTS), "contacts": ("contact", CONTACT_SORTS)}


def walk(client: t.Any, headers: dict[str, str], url: str, pages: int = 3) -> list[dict]:
    """The items of up to `pages` pages, following Link rel=next."""
    items: list[dict] = []
    for _ in range(pages):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.get_data(as_text=True))
        items += answer.get_json()["items"]
        link = answer.headers.get("Link")
        if not link:
            break
        url = link[1:link.index(">")]
    return items


def _value(item: dict, column: str) -> str:
    return quote(item.get(column) or "")


def api_list_flows(recorder: Recorder, client: t.Any, headers: dict[str, str]) -> None:
    """Every list request shape the API sends, each flow named as the screens' are (a
    list, a search, an Archived tab: hot paths)."""
    for resource, (entity, columns) in LISTED.items():
        base = f"{API}/{resource}?limit=1"
        first = walk(client, headers, f"{API}/{resource}?limit=3", pages=1)
        assert first, f"the flows need {resource} to list"
        with recorder.running(f"api {entity} list"):
            walk(client, headers, f"{API}/{resource}")
            for column in columns:
                for sign in ("", "-"):
                    walk(client, headers, f"{base}&sort={sign}{column}")
                    # a filter on the sort column: one value, several, none
                    one, other = _value(first[0], column), _value(first[-1], column)
                    walk(client, headers, f"{base}&sort={sign}{column}&{column}={one}")
                    walk(client, headers, f"{base}&sort={sign}{column}&{column}={one}"
                                          f"&{column}={other}")
                    walk(client, headers, f"{base}&sort={sign}{column}&{column}=")
        with recorder.running(f"api {entity} filtered list"):
            # fields with no index, alone, combined, with a sort: a bounded walk
            unindexed = "location=Paris" if entity == "customer" else "job_title=Buyer"
            walk(client, headers, f"{base}&{unindexed}")
            walk(client, headers, f"{base}&{unindexed}&email=nobody%40example.com")
            walk(client, headers, f"{base}&{unindexed}&sort=-email")
            if entity == "customer":
                walk(client, headers, f"{base}&expiry_date[gte]=2020-01-01"
                                      f"&expiry_date[lt]=2040-01-01")
                walk(client, headers, f"{base}&level=Org&department=Finance"
                                      f"&department=Sales&sort=-department")
                walk(client, headers, f"{base}&level=Customer&sort=-name")
            else:
                record = first[0]["customer"]
                walk(client, headers, f"{base}&customer={record}")
                walk(client, headers, f"{base}&customer={record}&sort=-name")
                walk(client, headers, f"{base}&customer={record}"
                                      f"&name={_value(first[0], 'name')}")
                walk(client, headers, f"{base}&customer={record}&email=")
        with recorder.running(f"api {entity} search"):
            word = quote((first[0]["name"] or "a")[:1])  # a letter: several pages
            for sign in ("", "-"):
                walk(client, headers, f"{base}&search={word}&sort={sign}name")
                walk(client, headers, f"{base}&search={word}&sort={sign}email")
            walk(client, headers, f"{base}&search={word}&name={_value(first[0], 'name')}")
            walk(client, headers, f"{base}&search={word}+a&email=")
            walk(client, headers, f"{base}&search={word}&sort=-email&email=")
        with recorder.running(f"api {entity} Archived tab"):
            for column in columns:
                walk(client, headers, f"{base}&archived=true&sort=-{column}")
            walk(client, headers, f"{base}&archived=true&search={word}")

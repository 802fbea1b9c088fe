"""One page of a list the admin pages by hand (Outbox, directory runs, a run's actions).

The numbers `templates/dictadmin/pager.html` draws its Newer / Older links from: the
page asked for in `?page=` (from 0; a bad or negative one is the first), how many pages
there are (at least one), and the items on this page.
"""

from __future__ import annotations

import typing as t

from flask import request


def page_of(items: t.Any, size: int) -> dict[str, t.Any]:
    """`items` is a list or a queryset (counted, then skipped, on the store)."""
    page = max(request.args.get("page", 0, type=int), 0)
    if isinstance(items, list):
        total, shown = len(items), items[page * size:(page + 1) * size]
    else:
        total, shown = items.count(), list(items.skip(page * size).limit(size))
    return {"items": shown, "page": page, "pages": max(1, -(-total // size)), "total": total}

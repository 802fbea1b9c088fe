"""A customer's tickets, newest first: its edit page shows the first page of them."""

from __future__ import annotations

import typing as t

from ..models import Ticket

ON_RECORD_PAGE = 10


def recent(customer_id: t.Any, limit: int = ON_RECORD_PAGE) -> tuple[list[Ticket], int]:
    """The newest `limit` tickets logged for the record, and how many it has in all."""
    query = Ticket.objects(customer=customer_id)
    return list(query.order_by("-logged_at").limit(limit)), query.count()

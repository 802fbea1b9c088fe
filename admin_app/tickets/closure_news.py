"""What closing a ticket will tell its customer, shown to the agent before it is sent.

The seed's News on Closure "pops up when you close a ticket for this customer": the
ticket form shows it when Closed is chosen, before the save that closes the ticket and
sends the closure notice. It is read by the notice's own `news_on_closure`, so the
agent is shown word for word what the customer will be sent.

A `token` names the News on Closure as it was shown. The form sends it back with the
save, and a save that closes the ticket goes ahead only with the token of the news as it
stands then: a browser without JavaScript, a pop-up that could not load, or news edited
since the pop-up all lead to the news being shown on the page first (the form's
`ClosureNewsShown`). The token is no secret and guards nothing: whoever may save the
form may close the ticket; it only records what was on the agent's screen.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from dataclasses import dataclass

from .. import dictionary
from ..mail.notices import NEWS_FIELD, news_on_closure

DEFAULT_HEADING = "News on Closure"


@dataclass(frozen=True)
class ClosureNews:
    record: str  # the id of the ticket's customer, as the form and the endpoint name it
    heading: str  # the field's label in the dictionary
    items: tuple[tuple[str, str], ...]  # (title, text): the customer's, then its Org's

    @property
    def token(self) -> str:
        """Changes with the record and with any title or text: another customer, or news
        edited since it was shown, needs showing again."""
        shown = json.dumps([self.record, self.items], ensure_ascii=False)
        return hashlib.sha256(shown.encode()).hexdigest()[:24]

    def document(self) -> dict[str, t.Any]:
        """For the browser, which inserts every string as text."""
        return {"customer": self.record, "heading": self.heading, "token": self.token,
                "news": [{"title": title, "text": text} for title, text in self.items]}


def closure_news(record_id: t.Any) -> ClosureNews:
    """The News on Closure that closing a ticket of `record_id` would send (none for a
    record that no longer exists, or when the field is retired)."""
    field = dictionary.current().fields.get("customer", {}).get(NEWS_FIELD)
    heading = field.label if field is not None and not field.retired else DEFAULT_HEADING
    items = tuple(news_on_closure(record_id)) if record_id is not None else ()
    return ClosureNews("" if record_id is None else str(record_id), heading, items)

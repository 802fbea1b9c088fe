"""The Outbox screen: notices waiting to be sent, with why they wait; admins only.

Read-only but for "Retry now", which runs the same delivery as `flask mail retry` (the
claim in `mail.outbox` keeps it from sending a message twice). Nothing is deleted: the
outbox is the record of what was sent.
"""

from __future__ import annotations

import typing as t

from bson import ObjectId
from flask import abort, current_app, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm

from ..mail import OutboxMessage, deliver
from ..mail.delivery import settings
from .paging import page_of
from .secure import AdminOnly

PAGE_SIZE = 20


class RetryForm(FlaskForm):
    """Only the CSRF token: the message is named by the URL."""


class OutboxView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        shown = page_of(OutboxMessage.objects.order_by("-created_at", "-id"), PAGE_SIZE)
        return self.render("dictadmin/outbox_list.html", messages=shown.pop("items"),
                           **shown, mail=settings())

    @expose("/message/<message_id>/")
    def message(self, message_id: str) -> t.Any:
        message = _message(message_id)
        retry = RetryForm() if message.status == "queued" else None
        return self.render("dictadmin/outbox_message.html", message=message, retry=retry,
                           ticket_url=_ticket_url(message), mail=settings())

    @expose("/message/<message_id>/retry", methods=["POST"])
    def retry(self, message_id: str) -> t.Any:
        message = _message(message_id)
        if not RetryForm().validate_on_submit():
            abort(400, "The page had expired; open the message again and press Retry now.")
        outcome = deliver(message)
        flash(f"{message.subject}: {outcome.text}", "success" if outcome.sent else "warning")
        return redirect(url_for(".message", message_id=message_id))


def _message(message_id: str) -> OutboxMessage:
    message = OutboxMessage.objects(pk=ObjectId(message_id)).first() \
        if ObjectId.is_valid(message_id) else None
    return message or abort(404)


def _ticket_url(message: OutboxMessage) -> str | None:
    """A link to the ticket when the ticket screens are there to open it."""
    if message.ticket is None or "ticket.edit_view" not in current_app.view_functions:
        return None
    return url_for("ticket.edit_view", id=str(message.ticket))

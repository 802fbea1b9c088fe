"""Make WebGuest Login: a customer's login to the self-service portal, made from its record.

Agents and admins make them (it is desk work, like the record itself). The customer's
email is offered as the username. The page then shows the one-time link to set the
password, which is also mailed through the outbox when mail is configured; a customer a
directory connector made needs no link, since the portal checks its directory password.
The rules are in `security/accounts.py`.
"""

from __future__ import annotations

import typing as t

from bson import ObjectId
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email

from ..mail.delivery import settings as mail_settings
from ..models import Customer
from ..security import accounts
from .logins import link_page
from .secure import StaffOnly


class WebGuestForm(FlaskForm):
    email = EmailField("Username (email)", validators=[
        DataRequired("Enter the email address the customer signs in with."),
        Email("Enter a valid email address.")])


class WebGuestView(StaffOnly, BaseView):
    def is_visible(self) -> bool:
        return False  # reached from a customer's record, not the menu

    @expose("/", methods=["GET", "POST"])
    def index(self) -> t.Any:
        """/admin/webguest/?customer=<id>: the form for that customer."""
        customer = _customer(request.args.get("customer", ""))
        back = url_for("customer.edit_view", id=str(customer.pk))
        existing = accounts.portal_login(customer)
        if existing is not None:
            return self._existing(customer, existing, back)
        form = WebGuestForm(formdata=request.form if request.method == "POST" else None,
                            data={"email": getattr(customer, "email", None) or ""})
        if form.validate_on_submit():
            try:
                user, issued = accounts.make_webguest(customer, form.email.data)
            except accounts.LoginRefused as refused:
                form.email.errors = [str(refused)]
            else:
                return link_page(self.render(
                    "dictadmin/webguest_made.html", user=user, issued=issued,
                    customer=customer, back=back, mailed=mail_settings().configured,
                    connector=accounts.from_directory(customer)))
        return self.render("dictadmin/webguest_new.html", form=form, customer=customer,
                           back=back, connector=accounts.from_directory(customer))


    def _existing(self, customer: Customer, existing: accounts.PortalLogin, back: str) -> t.Any:
        """The customer's login; one still awaiting its password can get a new link."""
        form = FlaskForm() if existing.state == "awaiting" else None
        if form is not None and form.validate_on_submit():
            try:
                issued = accounts.new_webguest_link(existing.user)
            except accounts.LoginRefused as refused:
                flash(str(refused), "error")
                return redirect(back)
            return link_page(self.render(
                "dictadmin/webguest_made.html", user=existing.user, issued=issued,
                customer=customer, back=back, mailed=mail_settings().configured,
                connector="", again=True))
        if request.method == "POST" and form is None:
            flash(f"This customer already has a portal login: {existing.user.email} "
                  f"({existing.words}).", "info")
            return redirect(back)
        return self.render("dictadmin/webguest_existing.html", customer=customer,
                           portal=existing, form=form, back=back)


def _customer(record_id: str) -> Customer:
    record = Customer.objects(pk=ObjectId(record_id)).first() \
        if ObjectId.is_valid(record_id) else None
    if record is None:
        abort(404)
    if record.level != "Customer":
        abort(400, "Only a customer at Level Customer can have a portal login.")
    return record

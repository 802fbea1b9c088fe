"""The Logins screen (admins only): who may sign in, and with which role.

A new or reset login gets a one-time link to set its password, shown once on the page
that made it; nobody ever types or sees someone else's password. What takes something
away (disable, reset, a role change) asks for confirmation on a page of its own first;
re-enabling does not. The rules (the last admin, sessions ended, the audit log) are in
`security/accounts.py`.
"""

from __future__ import annotations

import typing as t

from bson import ObjectId
from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Email

from ..models import Customer, User
from ..models.users import ROLES
from ..security import accounts
from .paging import page_of
from .secure import AdminOnly

PAGE_SIZE = 20
STAFF_CHOICES = [SelectChoice("agent", "agent: records, contacts, tickets, imports"),
                 SelectChoice("admin", "admin: all of that, and the dictionary, directory, "
                                       "logins")]
ACTIONS = {
    "disable": ("Disable", "It can no longer sign in, and every session it has ends now."),
    "reset": ("Reset the password of", "Its password stops working now, every session it "
              "has ends, and you get a new one-time link to give its owner."),
    "role": ("Change the role of", "Every session it has ends now; it signs in again with "
             "the new role."),
}


class NewLoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter the email address."),
                                            Email("Enter a valid email address.")])
    role = SelectField("Role", choices=STAFF_CHOICES, default="agent")


class ConfirmForm(FlaskForm):
    """The CSRF token, and for a role change the role chosen."""

    role = HiddenField()


class LoginsView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        role = request.args.get("role", "")
        query = User.objects(role=role) if role in ROLES else User.objects
        shown = page_of(query.order_by("email"), PAGE_SIZE)
        users = shown.pop("items")
        customers = _customers(users)
        rows = [(user, accounts.STATES[accounts.state_of(user, customers.get(user.customer_id))],
                 customers.get(user.customer_id)) for user in users]
        return self.render("dictadmin/logins_list.html", rows=rows, role=role, roles=ROLES,
                           **shown)

    @expose("/new/", methods=["GET", "POST"])
    def create(self) -> t.Any:
        form = NewLoginForm(formdata=request.form if request.method == "POST" else None)
        if form.validate_on_submit():
            try:
                user, issued = accounts.invite(form.email.data, form.role.data)
            except accounts.LoginRefused as refused:
                form.email.errors = [str(refused)]
            else:
                return link_page(self.render("dictadmin/logins_link.html", user=user,
                                              issued=issued, made=True))
        return self.render("dictadmin/logins_new.html", form=form)

    @expose("/login/<user_id>/")
    def login(self, user_id: str) -> t.Any:
        user = _user(user_id)
        customer = Customer.objects(pk=user.customer_id).first() if user.customer_id else None
        return self.render("dictadmin/logins_login.html", user=user, customer=customer,
                           state=accounts.STATES[accounts.state_of(user, customer)],
                           enable=ConfirmForm(), roles=STAFF_CHOICES)

    @expose("/login/<user_id>/<action>/", methods=["GET", "POST"])
    def confirm(self, user_id: str, action: str) -> t.Any:
        """Disable, reset or change role: GET asks, POST (with its CSRF token) does it."""
        user = _user(user_id)
        if action not in ACTIONS:
            abort(404)
        form = ConfirmForm(formdata=request.form if request.method == "POST" else None)
        role = (form.role.data if request.method == "POST" else request.args.get("role")) or ""
        try:
            accounts.check_allowed(user, action, role)
        except accounts.LoginRefused as refused:
            flash(str(refused), "error")
            return redirect(url_for(".login", user_id=user_id))
        if request.method == "GET":
            form.role.data = role
            verb, consequence = ACTIONS[action]
            return self.render("dictadmin/logins_confirm.html", user=user, action=action,
                               verb=verb, consequence=consequence, role=role, form=form)
        if not form.validate_on_submit():
            abort(400, "The page had expired; open the login again and repeat the change.")
        try:
            if action == "reset":
                issued = accounts.reset(user)
                return link_page(self.render("dictadmin/logins_link.html", user=user,
                                              issued=issued, made=False))
            if action == "disable":
                accounts.disable(user)
                flash(f"{user.email} is disabled; its sessions have ended.", "success")
            else:
                accounts.change_role(user, role)
                flash(f"{user.email} is now an {role}; its sessions have ended.", "success")
        except accounts.LoginRefused as refused:
            flash(str(refused), "error")
        return redirect(url_for(".login", user_id=user_id))

    @expose("/login/<user_id>/enable", methods=["POST"])
    def enable(self, user_id: str) -> t.Any:
        user = _user(user_id)
        if not ConfirmForm().validate_on_submit():
            abort(400, "The page had expired; open the login again and press Re-enable.")
        if not user.active:
            accounts.enable(user)
            flash(f"{user.email} can sign in again.", "success")
        return redirect(url_for(".login", user_id=user_id))


def _user(user_id: str) -> User:
    user = User.objects(pk=ObjectId(user_id)).first() if ObjectId.is_valid(user_id) else None
    return user or abort(404)


def _customers(users: list[User]) -> dict[t.Any, Customer]:
    """The WebGuests' customers on one page, read with one query."""
    ids = [user.customer_id for user in users if user.customer_id is not None]
    return {record.pk: record for record in Customer.objects(pk__in=ids)} if ids else {}


def link_page(body: str) -> t.Any:
    """A page showing a one-time link is not cached."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response

"""Signing in to the portal and out of it.

Sign-in goes through `security.signin.attempt`, like the admin's, so the portal has the
same throttle, the same answer and timing whether or not a login exists, and the same
audit entries; only WebGuest logins may sign in here. The password is checked by
`password_matches`: against the directory, through the connector that made the
customer, for a directory customer; against the stored hash otherwise.
"""

from __future__ import annotations

import typing as t

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..directory import bind
from ..models import Customer, User
from ..models.users import spend_a_check
from ..security import sessions, signin
from .access import ROLE, current_guest
from .blueprint import bp


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


def password_matches(user: User, password: str) -> bool:
    """The directory password for a customer a directory connector made (its record's
    `directory` mark names the connector and the entry); the login's own otherwise."""
    stored = Customer._get_collection().find_one({"_id": user.customer_id}, {"directory": 1}) \
        if user.customer_id is not None else None
    mark = (stored or {}).get("directory")
    if isinstance(mark, dict) and mark.get("connector"):
        spend_a_check(password)  # as long as a local check: the clock tells nothing
        return bind.directory_password_matches(mark, password)
    return user.check_password(password)


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> t.Any:
    if request.method == "GET" and current_guest() is not None:
        return redirect(url_for("portal.details"))
    # Form fields only, never a JSON body: a value is always text, never {"$ne": null}.
    form = SignInForm(formdata=request.form if request.method == "POST" else None)
    answer = signin.from_form(form, area="portal", roles=(ROLE,), check=password_matches)
    if answer.signed_in:
        return redirect(url_for("portal.details"))
    return render_template("portal/sign_in.html", form=form), answer.status, answer.headers


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> t.Any:
    if FlaskForm().validate_on_submit():
        sessions.sign_out(area="portal")
        flash("You have signed out.", "info")
    return redirect(url_for("portal.sign_in"))

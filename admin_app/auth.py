"""Sign-in and sign-out for the admin: the pages; the rules are in `security`.

Sign-in goes through `security.signin.attempt` (throttle, equal answers, audit, a fresh
session); sign-out is a POST with a CSRF token, so that no other site or link can sign a
user out, and it ends every session of the login (`security.sessions`).
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from .models import User
from .models.users import STAFF_ROLES
from .security import sessions, signin

bp = Blueprint("auth", __name__)
login_manager = sessions.login_manager


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Email("Enter a valid email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class SignOutForm(FlaskForm):
    """Only the CSRF token."""


def _safe_next(target: str | None) -> str:
    """Only local paths, so the sign-in page cannot be used to bounce users elsewhere."""
    if target and not urlsplit(target).netloc and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    # Form fields only: Flask-WTF would also read a JSON body, whose values can be
    # objects ({"$gt": ""}) rather than the text a sign-in form sends.
    form = LoginForm(formdata=request.form if request.method == "POST" else None)
    answer = signin.from_form(form, area="admin", roles=STAFF_ROLES)
    if answer.signed_in:
        return redirect(_safe_next(request.args.get("next")))
    # A store prepared without `flask setup` has no admin yet: say how to make one.
    no_admin = User.objects(role="admin").first() is None
    return render_template("dictadmin/login.html", form=form, no_admin=no_admin), \
        answer.status, answer.headers


@bp.route("/logout", methods=["POST"])
def logout() -> t.Any:
    if not SignOutForm().validate_on_submit():
        abort(400, "The page had expired; sign out again from a freshly opened page.")
    sessions.sign_out(area="admin")
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root() -> t.Any:
    return redirect(url_for("admin.index"))


def init_app(app: Flask) -> None:
    sessions.init_app(app)
    login_manager.login_view = "auth.login"
    app.register_blueprint(bp)
    # The Sign out button in every admin page's menu bar posts this token.
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)

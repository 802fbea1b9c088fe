"""Sign-in for the admin: Flask-Login sessions, hashed passwords, CSRF-protected form."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from bson import ObjectId
from bson.errors import InvalidId
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from .models import User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Email("Enter a valid email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return User.objects(pk=ObjectId(user_id), active=True).first()
    except (InvalidId, TypeError):
        return None


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
    status = 200
    if form.validate_on_submit():
        user = User.objects(email=form.email.data.strip().lower(), active=True).first()
        if user is not None and user.check_password(form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("That email and password do not match an active account.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    # A store prepared without `flask setup` has no admin yet: say how to make one.
    no_admin = User.objects(role="admin").first() is None
    return render_template("dictadmin/login.html", form=form, no_admin=no_admin), status


@bp.route("/logout")
def logout() -> t.Any:
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root() -> t.Any:
    return redirect(url_for("admin.index"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.register_blueprint(bp)

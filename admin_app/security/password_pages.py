"""The page a one-time link opens: set your password, then sign in.

Reached by staff (a new or reset login) and by WebGuests (Make WebGuest Login), before
they can sign in, so it stands outside the admin and the portal. A link that is unknown,
used, expired, replaced or whose login is disabled gets a page that says so (404 or
410), never a form. The token is in the path: the page is not cached, and the app's
Referrer-Policy (same-origin, `security/headers.py`) keeps it from other sites.
"""

from __future__ import annotations

import typing as t

from flask import (
    Blueprint,
    Flask,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from . import audit, links

bp = Blueprint("password", __name__)

REFUSED = {
    "unknown": (404, "This link is not valid. Check that you opened the whole link, or ask "
                     "for a new one."),
    "used": (410, "This link has already been used. Sign in with the password you set, or "
                  "ask for a new link."),
    "expired": (410, "This link has expired. Ask for a new one."),
    "cancelled": (410, "A newer link has been issued for this login, so this one no longer "
                       "works. Use the newest link, or ask for a new one."),
    "disabled": (410, "This login is disabled, so its link no longer works."),
}


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Enter a password.")])
    confirm = PasswordField("New password again", validators=[
        DataRequired("Enter the password again."),
        EqualTo("password", "The two passwords are not the same.")])


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> t.Any:
    found = links.find(token)
    if found.state != "ok" or found.user is None:
        return _refused(found.state)
    # Form fields only, as on the sign-in page: a JSON body could carry objects.
    form = SetPasswordForm(formdata=request.form if request.method == "POST" else None)
    status = 200
    if form.validate_on_submit():
        from . import passwords, sessions

        problems = passwords.problems(form.password.data, found.user.email)
        if problems:
            form.password.errors = list(problems)
            status = 400
        else:
            try:
                link, user = links.redeem(token, form.password.data)
            except links.LinkRefused as refused:
                return _refused(refused.state)
            sessions.end_all(user)
            return _done(link, user)
    elif request.method == "POST":
        status = 400
    return _page(render_template("dictadmin/set_password.html", form=form,
                                 email=found.user.email), status)


def _done(link: links.SetPasswordLink, user: t.Any) -> t.Any:
    if link.purpose == "webguest":
        audit.record("webguest_link_used", subject=user.email, area="portal",
                     actor=user.email, detail="password set")
        flash("Your password is set. Sign in with it.", "info")
        return redirect("/portal/")
    audit.record("password_set", subject=user.email, area="admin", actor=user.email)
    flash("Your password is set. Sign in with it.", "info")
    return redirect(url_for("auth.login"))


def _refused(state: str) -> t.Any:
    status, message = REFUSED.get(state, REFUSED["unknown"])
    return _page(render_template("dictadmin/set_password.html", form=None, refused=message),
                 status)


def _page(body: str, status: int) -> t.Any:
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

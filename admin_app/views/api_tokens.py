"""The API tokens screen (admins only): who may call the REST API, with what scope, until
when, and when each token was last used, from where.

A token's secret is shown once, on the page that answers the form that made it, and is
never stored (only its digest is: `security/api_tokens.py`), so no later page can show
it. A browser that reloads that page sends the form again; the form carries a one-time
mark, remembered in the session once used, so the reload makes no second token and
shows no secret. Revoking asks on a page of its own first. Making and revoking are
audited (`api_tokens.create` / `revoke`); the screen shows the latest entries.
"""

from __future__ import annotations

import secrets
import typing as t

from bson import ObjectId
from flask import abort, flash, redirect, request, session, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..models.api_tokens import ApiToken
from ..models.kept import now
from ..models.users import STAFF_ROLES, User, normal_email
from ..security import api_tokens
from ..security.audit import AuditEvent
from .logins import link_page
from .paging import page_of
from .secure import AdminOnly

PAGE_SIZE = 20
STATES = ("active", "expired", "revoked")
AUDITED = ("api_token_created", "api_token_revoked")
SCOPE_CHOICES = [SelectChoice("read", "read: may only read records"),
                 SelectChoice("read-write", "read-write: may also create, change, archive "
                                            "and restore")]
# The one-time marks of token forms already answered, kept in the session (the latest few).
_USED_FORMS = "api_token_forms"
_KEEP_USED = 20


class NewTokenForm(FlaskForm):
    login = SelectField("Login", validators=[InputRequired("Choose the login the token acts "
                                                           "for.")])
    name = StringField("Name", validators=[
        DataRequired("Say what the token is for, so it can be told apart later."),
        Length(max=100, message="Keep the name to 100 characters.")])
    scope = RadioField("Scope", choices=SCOPE_CHOICES, default="read")
    days = IntegerField("Days", default=api_tokens.DEFAULT_DAYS, validators=[
        InputRequired("Say how many days the token lasts."),
        NumberRange(1, api_tokens.LONGEST_DAYS,
                    f"A token lasts from 1 to {api_tokens.LONGEST_DAYS} days.")])
    once = HiddenField()


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


def _staff_choices() -> list[SelectChoice]:
    """The logins a token can be made for: active admins and agents, by email."""
    users = User.objects(role__in=STAFF_ROLES, active=True).only("email", "role") \
        .order_by("email")
    return [SelectChoice("", "Choose a login…")] + [
        SelectChoice(user.email, f"{user.email} ({user.role})") for user in users]


class ApiTokensView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        state = request.args.get("state", "")
        login = request.args.get("login", "").strip()
        moment = now()
        query = ApiToken.objects
        if login:
            holder = User.objects(email=normal_email(login)).only("id").first()
            query = query(user=holder.pk if holder else None)
        if state == "active":
            query = query(revoked=None, expires__gt=moment)
        elif state == "expired":
            query = query(revoked=None, expires__lte=moment)
        elif state == "revoked":
            query = query(revoked__ne=None)
        shown = page_of(query.order_by("-created", "-id"), PAGE_SIZE)
        tokens = shown.pop("items")
        logins = _logins(tokens)
        rows = [(token, token.state(moment), logins.get(_id_of(token._data.get("user"))))
                for token in tokens]
        audited = AuditEvent.objects(event__in=AUDITED).order_by("-at", "-id").limit(10)
        return self.render("dictadmin/api_tokens_list.html", rows=rows, state=state,
                           states=STATES, login=login, audited=list(audited),
                           audit_events=AUDITED, **shown,
                           args={k: v for k, v in (("state", state), ("login", login)) if v})

    @expose("/new/", methods=["GET", "POST"])
    def create(self) -> t.Any:
        form = NewTokenForm(formdata=request.form if request.method == "POST" else None)
        form.login.choices = _staff_choices()
        if request.method == "GET":
            form.once.data = secrets.token_urlsafe(16)
            chosen = normal_email(request.args.get("login", ""))
            if chosen and any(choice.value == chosen for choice in form.login.choices):
                form.login.data = chosen
        elif form.once.data and form.once.data in session.get(_USED_FORMS, []):
            # The page that showed a secret, reloaded: its form was answered already.
            flash("That form was sent already and its token is made (it is in the list). "
                  "A token's secret is shown only once; if it was not kept, revoke the "
                  "token and make a new one.", "warning")
            return redirect(url_for(".index"), 303)
        elif form.validate_on_submit():
            user = User.objects(email=form.login.data).first()
            try:
                if user is None:
                    raise api_tokens.TokenRefused(f"There is no login {form.login.data}.")
                issued = api_tokens.create(user, form.scope.data, days=form.days.data,
                                           name=form.name.data, actor=current_user.email)
            except api_tokens.TokenRefused as refused:
                form.login.errors = [str(refused)]
            else:
                if form.once.data:
                    used = [*session.get(_USED_FORMS, []), form.once.data][-_KEEP_USED:]
                    session[_USED_FORMS] = used
                return link_page(self.render("dictadmin/api_tokens_made.html", issued=issued))
        return self.render("dictadmin/api_tokens_new.html", form=form)

    @expose("/token/<token_id>/revoke/", methods=["GET", "POST"])
    def revoke(self, token_id: str) -> t.Any:
        """GET asks, POST (with its CSRF token) revokes."""
        token = _token(token_id)
        form = ConfirmForm(formdata=request.form if request.method == "POST" else None)
        if token.revoked is not None:
            flash(f"The token …{token.hint} of {token.user.email} was revoked already.",
                  "info")
            return redirect(url_for(".index"))
        if request.method == "GET":
            return self.render("dictadmin/api_tokens_revoke.html", token=token, form=form,
                               state=token.state(now()))
        if not form.validate_on_submit():
            abort(400, "The page had expired; open the token list again and repeat the "
                       "revoke.")
        api_tokens.revoke(token, actor=current_user.email)
        flash(f"The token …{token.hint} of {token.user.email} is revoked: it gets 401 "
              f"from now on.", "success")
        return redirect(url_for(".index"))


def _logins(tokens: list[ApiToken]) -> dict[t.Any, User]:
    """The logins of one page's tokens, read with one query (by the stored reference)."""
    ids = {_id_of(token._data.get("user")) for token in tokens} - {None}
    return {user.pk: user for user in User.objects(pk__in=list(ids))} if ids else {}


def _id_of(reference: t.Any) -> t.Any:
    return getattr(reference, "pk", None) or getattr(reference, "id", None) or reference


def _token(token_id: str) -> ApiToken:
    found = ApiToken.objects(pk=ObjectId(token_id)).first() \
        if ObjectId.is_valid(token_id) else None
    return found or abort(404)

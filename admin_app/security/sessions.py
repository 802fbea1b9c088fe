"""Signed-in sessions that can be ended from the server, although they live in a cookie.

Flask keeps the session in a signed cookie, so the server cannot delete a copy of it. Each
login carries a `session_version`; sign-in copies it into the session, and every request
compares the two (the Flask-Login user loader). `end_all` raises the version: every
session of that login, on every device and every copy of the cookie, ends at once.

Sign-in starts a new session (the old one's contents, its CSRF token among them, are
dropped), and there is no remember-me cookie. The cookie is HttpOnly and SameSite=Lax,
and Secure when the app is served over HTTPS (see `CookieSessions`).
"""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from ..models import User
from . import audit

login_manager = LoginManager()
VERSION_KEY = "_session_version"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's login, if it is still active and the session is still its current one."""
    try:
        user = User.objects(pk=ObjectId(user_id)).first()
    except (InvalidId, TypeError):
        return None
    if user is None or session.get(VERSION_KEY) != user.session_version:
        return None
    # Disabled, or a WebGuest whose customer has been archived since sign-in.
    return user if user.usable() else None


def begin(user: User) -> None:
    """Sign `user` in on a fresh session, so nothing from before sign-in (a CSRF token, a
    session id an attacker planted) carries over."""
    session.clear()
    login_user(user, remember=False)
    session[VERSION_KEY] = user.session_version


def end_all(user: User) -> None:
    """End every session of `user` at once (sign-out, a password change or reset, disabling,
    a role change). The increment is one atomic update: two at once still both end them."""
    User.objects(pk=user.pk).update_one(inc__session_version=1)
    user.session_version = (user.session_version or 0) + 1


def sign_out(area: str | None = None) -> None:
    """The visitor's sign-out: recorded, every session of the login ended, the cookie
    emptied. `area` defaults to the portal for /portal pages (see `audit.record`)."""
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        audit.record("sign_out", subject=user.email, area=area, actor=user.email)
        end_all(user)
    logout_user()
    session.clear()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with a Secure flag that can follow the request.

    SESSION_COOKIE_SECURE true or false is obeyed; unset (None), the cookie is Secure when
    PREFERRED_URL_SCHEME is https or this request came over HTTPS, which behind a proxy
    is known only when TRUST_PROXY lets the proxy's X-Forwarded-Proto count.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config.get("SESSION_COOKIE_SECURE")
        if setting is not None:
            return bool(setting)
        return app.config.get("PREFERRED_URL_SCHEME") == "https" \
            or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.session_interface = CookieSessions()
    if app.config.get("TRUST_PROXY"):
        # Only behind a proxy that sets these headers itself: otherwise a visitor could
        # claim any address (dodging the sign-in throttle) or HTTPS.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)


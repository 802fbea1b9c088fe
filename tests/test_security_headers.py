"""Every response carries the security headers: a page cannot be framed, sniffed into
another type or run script it did not load from this app, whatever kind of response it is.
"""

from __future__ import annotations

import re

import mongoengine
import pytest

from admin_app.security.headers import EXPECTED_HEADERS, policy_text

from .conftest import make_app
from .helpers import login

EXPECTED_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                   "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                   "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
                   "object-src 'none'")


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def assert_secured(response) -> None:
    assert response.headers.get("Content-Security-Policy") == EXPECTED_POLICY
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_policy_allows_no_inline_script_and_no_framing(client):
    policy = directives(client.get("/admin/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert not any("'unsafe-inline'" in sources or "'unsafe-eval'" in sources
                   for sources in policy.values())
    assert policy_text() == EXPECTED_POLICY


@pytest.mark.parametrize("url", [
    "/login",                                  # sign-in, anonymous
    "/admin/",                                 # anonymous: redirected to sign in
    "/portal/",                                # the WebGuest portal
    "/static/dictadmin.js",                    # our static files
    "/admin/static/admin/js/actions.js",       # Flask-Admin's
    "/no-such-page",                           # the 404 page
])
def test_anonymous_responses_of_every_kind_carry_the_headers(app, url):
    with app.test_client() as anonymous:
        response = anonymous.get(url)
        response.close()  # a static file stays open until closed
        assert_secured(response)


@pytest.mark.parametrize("url", ["/admin/", "/admin/customer/", "/admin/customer/new/",
                                 "/admin/contract/", "/admin/nowhere/"])
def test_signed_in_pages_carry_the_headers(client, url):
    assert_secured(client.get(url))


@pytest.mark.parametrize("url", ["/admin/", "/admin/customer/", "/admin/logins/",
                                 "/admin/customer/ajax/lookup/?name=org&query=a",
                                 "/login", "/portal/"])
def test_pages_are_kept_out_of_caches_and_static_files_are_not(client, url):
    """After signing out on a shared computer, the back button must not show records."""
    assert client.get(url).headers.get("Cache-Control") == "no-store"
    static = client.get("/static/dictadmin.css")
    static.close()
    assert "no-store" not in (static.headers.get("Cache-Control") or "")


def test_a_refused_screen_carries_the_headers(agent_client):
    response = agent_client.get("/admin/dictionary/")
    assert response.status_code == 403
    assert_secured(response)


def test_a_server_error_page_carries_the_headers(tmp_path):
    app = make_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.route("/admin/boom")
    def boom():
        raise RuntimeError("the store fell over")

    try:
        with app.test_client() as client:
            login(client)
            response = client.get("/admin/boom")
        assert response.status_code == 500
        assert_secured(response)
    finally:
        mongoengine.disconnect()


def test_https_is_left_to_the_proxy_and_hsts_is_sent_only_over_https(app):
    with app.test_client() as anonymous:
        plain = anonymous.get("/login")
        secure = anonymous.get("/login", base_url="https://localhost")
    assert plain.status_code == 200  # no redirect to https: that is the proxy's job
    assert "Strict-Transport-Security" not in plain.headers
    hsts = secure.headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and "includeSubDomains" not in hsts


def test_the_headers_leave_the_session_cookie_settings_alone(tmp_path):
    """Talisman would set the cookie flags itself; they belong to the session settings."""
    app = make_app(tmp_path, SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=False,
                   SESSION_COOKIE_HTTPONLY=False)
    try:
        with app.test_client() as client:
            response = login(client)
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
        assert app.config["SESSION_COOKIE_SECURE"] is False
        cookie = response.headers["Set-Cookie"]
        assert "SameSite=Strict" in cookie and "Secure" not in cookie
    finally:
        mongoengine.disconnect()


@pytest.mark.parametrize("name", ["admin/actions.html", "admin/model/layout.html",
                                  "admin/model/row_actions.html",
                                  "admin/model/inline_list_base.html"])
def test_flask_admin_templates_with_inline_handlers_are_overridden(app, name):
    """Flask-Admin 2.2.1 wires these with onclick="…"; ours use data- attributes that
    static/dictadmin.js acts on, and the app's template folder wins over Flask-Admin's."""
    source, path, _uptodate = app.jinja_env.loader.get_source(app.jinja_env, name)
    assert path.replace("\\", "/").endswith("admin_app/templates/" + name)
    assert not re.search(r"<[^>]*\son[a-z]+=", source)


def test_the_list_actions_menu_runs_no_inline_script(app):
    with app.test_request_context():
        macros = app.jinja_env.get_template("admin/actions.html").make_module(
            {"_gettext": lambda text: text, "admin_static": None})
        html = str(macros.dropdown([("archive", "Archive")]))
    assert 'data-model-action="archive"' in html and "onclick" not in html

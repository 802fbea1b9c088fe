"""Security headers on every response: admin, sign-in, portal, error pages, static files.

flask-talisman writes them from one `after_request` hook, so a blueprint added later (the
portal) gets them without doing anything. Talisman's other jobs are turned off here on
purpose: redirecting to HTTPS is the proxy's job, and the session cookie's flags belong to
the session settings, so Talisman must not overwrite `SESSION_COOKIE_*`.

The policy allows no inline script: every behaviour lives in a static file (our
`static/*.js`, Flask-Admin's own scripts) and is wired through `data-` attributes, which
is why a few Flask-Admin templates are overridden under `templates/admin/`.
"""

from __future__ import annotations

import typing as t

from flask import Flask, Response, request
from flask_talisman import Talisman

SELF = "'self'"

# No 'unsafe-inline' anywhere, styles included: Select2, the date picker and Bootstrap's
# widgets set styles through the DOM (which style-src does not govern), so a template
# needs a class in static/dictadmin.css instead of a style="…" attribute.
CONTENT_SECURITY_POLICY: dict[str, str | list[str]] = {
    "default-src": SELF,
    "script-src": SELF,
    "style-src": SELF,
    "img-src": [SELF, "data:"],
    "font-src": SELF,
    "connect-src": SELF,
    "frame-ancestors": "'none'",
    "form-action": SELF,
    "base-uri": SELF,
    "object-src": "'none'",
}

# The headers for the security header tests and the crawl: name -> value.
EXPECTED_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def policy_text() -> str:
    """The Content-Security-Policy header value, as the browser receives it."""
    return "; ".join(f"{name} {' '.join(v) if isinstance(v, list) else v}"
                     for name, v in CONTENT_SECURITY_POLICY.items())


def init_app(app: Flask) -> Talisman:
    """Send the headers on every response of `app`."""
    # Talisman sets SESSION_COOKIE_SAMESITE unconditionally; hand it back what the
    # settings already chose so the cookie stays the session settings' business.
    samesite: t.Any = app.config.get("SESSION_COOKIE_SAMESITE")
    talisman = Talisman()
    talisman.init_app(
        app,
        force_https=False,
        session_cookie_secure=False,
        session_cookie_http_only=False,
        session_cookie_samesite=samesite,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy=EXPECTED_HEADERS["Referrer-Policy"],
        x_content_type_options=True,
        # HSTS only on a request that arrived over HTTPS; no includeSubDomains, which
        # would reach sites this app knows nothing about.
        strict_transport_security=True,
        strict_transport_security_include_subdomains=False,
    )
    app.extensions["dictadmin_headers"] = talisman

    @app.after_request
    def keep_out_of_caches(response: Response) -> Response:
        """Pages show people's records and one-time links: after signing out on a shared
        computer, neither the back button nor a cache may show them again. Static files
        (the same for everybody) stay cacheable."""
        endpoint = request.endpoint or ""
        if not endpoint.endswith("static") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    return talisman

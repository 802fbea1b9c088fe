"""A script's view of the REST API for the tests of contracts, SLAs and tickets: a client
that sends JSON with a bearer token, and readers of the answers it gets."""

from __future__ import annotations

import json
import typing as t

from admin_app.models.users import User
from admin_app.security import api_tokens

from .helpers import ADMIN_EMAIL

API = "/api/v1"


class Api:
    """JSON in and out, with a token (as `curl -H 'Authorization: Bearer …'`)."""

    def __init__(self, app: t.Any, secret: str) -> None:
        self.app, self.client = app, app.test_client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def send(self, method: str, path: str, body: t.Any = None, **headers: str) -> t.Any:
        extra = {"Content-Type": "application/json"} if body is not None else {}
        data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        return self.client.open(path if path.startswith("/") else f"{API}/{path}",
                                method=method, data=data,
                                headers={**self.headers, **extra, **headers})


def token_for(app: t.Any, scope: str = "read-write", email: str = ADMIN_EMAIL,
              role: str = "admin") -> Api:
    """A client holding a new token of `email`'s login (made as `role` if it is new)."""
    with app.app_context():
        user = User.objects(email=email).first()
        if user is None:
            user = User(email=email, role=role)
            user.set_password("An-agent-Pa55word!")
            user.save()
        secret = api_tokens.create(user, scope, actor="test").secret
    return Api(app, secret)


def problem(answer: t.Any, status: int) -> dict[str, t.Any]:
    """The RFC 9457 document of an error answer, checked to be one."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["status"] == status and body["type"].startswith("urn:dictadmin:problem:")
    assert body["detail"].endswith(".")  # a sentence
    return body


def errors_of(body: dict[str, t.Any]) -> dict[str, tuple[str, str, str]]:
    """field → (label, code, message) of a 422 problem."""
    return {e["field"]: (e["label"], e["code"], e["message"]) for e in body["errors"]}


def conforms(app: t.Any, body: t.Any, component: str) -> None:
    """`body` is what the live description (GET /openapi.json's schemas) says `component`
    is: an answer never drifts from its description."""
    import jsonschema

    from admin_app import dictionary
    from admin_app.api import spec

    with app.app_context():
        document = spec.described(dictionary.current()).document
    schema = {"$ref": f"#/components/schemas/{component}",
              "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)

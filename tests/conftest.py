"""Fixtures: an app on a fresh database per test, a signed-in client, a CLI runner.

`app` runs on mongomock; `store_app` is parametrised over mongomock and the embedded
on-disk store (litemongo), for the tests that must hold on both.
"""

from __future__ import annotations

import uuid

import mongoengine
import pytest

from admin_app import background, create_app
from admin_app.dictionary import defaults
from admin_app.models import User

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_PASSWORD, login


def app_config(tmp_path, store: str = "mongomock", **overrides):
    """Settings for an app on a database of its own: mongomock or the embedded store."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MONGODB_URI": f"mongomock://localhost/test_{uuid.uuid4().hex}" if store == "mongomock"
        else None,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        **overrides,
    }


def make_app(tmp_path, store: str = "mongomock", **overrides):
    """An app with the default dictionary and the first admin installed."""
    app = create_app(app_config(tmp_path, store, **overrides))
    with app.app_context():
        defaults.install()
        if User.objects(email=ADMIN_EMAIL).first() is None:  # as `flask setup` makes it
            admin = User(email=ADMIN_EMAIL, role="admin")
            admin.set_password(ADMIN_PASSWORD)
            admin.save()
    return app


@pytest.fixture(autouse=True)
def _jobs_end():
    """Every test's job processes end before its temporary folder goes (fixtures that
    make their own apps included)."""
    yield
    background.wait()


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    background.wait()  # jobs a page started (threads, processes) end first
    mongoengine.disconnect()


@pytest.fixture
def app_with(tmp_path):
    """An app with some settings changed (`app_with(SETTING=value)`); disconnected after."""
    def make(**settings):
        return make_app(tmp_path, **settings)
    yield make
    background.wait()  # jobs a page started (threads, processes) end first
    mongoengine.disconnect()


@pytest.fixture(params=["mongomock", "embedded"])
def store_app(request, tmp_path):
    app = make_app(tmp_path, request.param)
    yield app
    background.wait()  # jobs a page started (threads, processes) end first
    mongoengine.disconnect()


@pytest.fixture
def client(app):
    with app.test_client() as client:
        assert login(client).status_code == 302
        yield client


@pytest.fixture
def store_client(store_app):
    with store_app.test_client() as client:
        assert login(client).status_code == 302
        yield client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def signed_in_agent(app):
    """A client signed in as a new agent of `app`: records, tickets and loads, not the
    dictionary or logins."""
    from admin_app.models import User

    with app.app_context():
        agent = User(email="agent@example.com", role="agent")
        agent.set_password(AGENT_PASSWORD)
        agent.save()
    with app.test_client() as client:
        assert login(client, "agent@example.com", AGENT_PASSWORD).status_code == 302
        yield client


@pytest.fixture
def agent_client(app):
    """Signed in as an agent (mongomock)."""
    yield from signed_in_agent(app)


@pytest.fixture
def store_agent_client(store_app):
    """Signed in as an agent, on each store."""
    yield from signed_in_agent(store_app)


@pytest.fixture(scope="module")
def big_directory(tmp_path_factory):
    """A real slapd with 2,500 users, shared by a module's tests (added once)."""
    from .servers import slapd_server

    with slapd_server(tmp_path_factory.mktemp("slapd-big")) as directory:
        directory.users = directory.add_users(2500)
        yield directory


@pytest.fixture
def directory(tmp_path):
    """A real slapd of the test's own, for tests that change or stop it."""
    from .servers import slapd_server

    with slapd_server(tmp_path / "slapd") as directory:
        yield directory

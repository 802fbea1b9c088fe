"""Requests that cannot be served get a styled 4xx page that says why, never a 500."""

import io
import json
import logging
import re

import mongoengine
import pytest

from admin_app.dictionary.documents import FieldDefinition, LayoutDefinition
from admin_app.models import Customer

from .conftest import make_app
from .helpers import ADMIN_EMAIL, csrf_token, login
from .test_seed_upload import finished


def error_message(response):
    html = response.get_data(as_text=True)
    assert 'id="error-page"' in html, html[:500]
    return re.search(r'id="error-message">([^<]*)<', html).group(1)


def test_unknown_page_is_a_styled_404_inside_the_admin(client):
    response = client.get("/admin/no-such-page/")
    assert response.status_code == 404
    assert "There is nothing at this address" in error_message(response)
    assert 'id="signed-in-as"' in response.get_data(as_text=True)  # the admin's own layout


def test_agent_on_an_admin_screen_gets_a_styled_403(agent_client):
    response = agent_client.get("/admin/dictionary/")
    assert response.status_code == 403
    assert "Your login does not give access to this page" in error_message(response)


@pytest.mark.parametrize("screen", ["field", "type", "words", "layout"])
def test_a_revision_that_is_not_a_number_is_a_400_not_a_crash(client, screen):
    url, data = {
        "field": ("/admin/dictionary/customer/department/", {"label": "Dept"}),
        "type": ("/admin/dictionary/customer/contract_ref/type/", {"type": "integer"}),
        "words": ("/admin/dictionary/entity/customer/", {"Customer-singular": "User",
                                                          "Customer-plural": "Users"}),
        "layout": ("/admin/dictionary/layout/customer/Org/", {"sections": "Main: name"}),
    }[screen]
    if screen == "type":  # a custom field: system fields cannot change type
        from admin_app.customising.fields import add_field
        with client.application.app_context():
            add_field("customer", "contract_ref", "Contract ref", "text")
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                      "revision": "abc", **data})
    assert response.status_code == 400
    assert "revision is not a number" in response.get_data(as_text=True)
    assert FieldDefinition.objects.get(entity="customer", name="department").label == \
        "Department"
    assert [s.title for s in LayoutDefinition.objects.get(entity="customer",
                                                           level="Org").sections] != ["Main"]


def test_sign_in_with_a_json_body_holding_an_operator_is_refused(app):
    client = app.test_client()
    response = client.post("/login", data=json.dumps(
        {"email": {"$gt": ""}, "password": {"$gt": ""}}), content_type="application/json")
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302  # not signed in


def test_gridfs_file_endpoint_is_not_offered(client):
    response = client.get("/admin/customer/api/file/?id=1&coll=fs")
    assert response.status_code == 404


@pytest.mark.parametrize("url", [
    "/admin/customer/details/?id=nope", "/admin/customer/export/csv/",
    "/admin/customer/edit/?id=nope", "/admin/contract/edit/?id=nope",
])
def test_endpoints_the_product_does_not_use_or_bad_ids_never_crash(client, url):
    assert client.get(url).status_code in (302, 404)


def test_posts_to_unused_endpoints_never_crash(client):
    page = client.get("/admin/customer/").get_data(as_text=True)
    token = csrf_token(page) if 'name="csrf_token"' in page else ""
    for url in ("/admin/customer/delete/", "/admin/customer/action/",
                "/admin/customer/ajax/update/"):
        response = client.post(url, data={"csrf_token": token, "id": "x"})
        assert response.status_code < 500, url


class CountingStream(io.BytesIO):
    """A request body that records how much of it the server read."""

    def __init__(self, size):
        super().__init__(b"email=" + b"a" * (size - 6))
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_a_20_mb_form_post_is_refused_with_413_before_it_is_read(app):
    body = CountingStream(20 * 2**20)
    response = app.test_client().post(
        "/login", input_stream=body, content_length=20 * 2**20,
        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "larger than this page accepts (2 MB)" in error_message(response)
    assert body.consumed == 0


def test_a_form_post_without_a_length_is_cut_off_at_the_limit(app):
    body = CountingStream(20 * 2**20)
    # As gunicorn passes a chunked body: no length, a stream that ends by itself.
    response = app.test_client().post(
        "/login", input_stream=body, content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert body.consumed <= 2 * 2**20 + 64 * 1024  # read up to the limit, not the whole


def test_the_seed_upload_has_its_own_larger_limit(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=1024, MAX_UPLOAD_BYTES=2**18)
    try:
        with app.test_client() as client:
            # Sign-in is a form: 1 KB is plenty.
            assert login(client).status_code == 302
            page = client.get("/admin/seed/").get_data(as_text=True)
            records = [{"name": f"Org {i:05d}"} for i in range(4000)]
            upload = json.dumps({"orgs": records}).encode()
            assert len(upload) > 1024
            response = client.post("/admin/seed/", data={
                "csrf_token": csrf_token(page), "on_existing": "update",
                "file": (io.BytesIO(upload), "orgs.json")}, content_type="multipart/form-data")
            assert "Checked 4000 records" in finished(client, response).get_data(as_text=True)
            big = client.post("/admin/seed/", data={
                "csrf_token": csrf_token(page), "file": (io.BytesIO(b" " * 300_000), "x.json")},
                content_type="multipart/form-data")
            assert big.status_code == 413
            assert "The file is larger than the 0.25 MB this page accepts" in \
                error_message(big)
    finally:
        mongoengine.disconnect()


def test_lookup_never_returns_more_than_a_page(client):
    Customer.objects.insert([Customer(name=f"Org {i:03d}", level="Org") for i in range(120)])
    for limit, expected in (("0", 10), ("-3", 10), ("100000", 50), ("20", 20)):
        response = client.get(f"/admin/customer/ajax/lookup/?name=org&query=&limit={limit}")
        assert response.status_code == 200
        assert len(json.loads(response.get_data(as_text=True))) == expected, limit
    response = client.get("/admin/customer/ajax/lookup/?name=org&query=&offset=-5")
    assert json.loads(response.get_data(as_text=True))[0][1] == "Org 000"


def test_a_server_error_is_logged_with_the_reference_the_page_shows(tmp_path, caplog):
    app = make_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.route("/admin/boom")
    def boom():
        raise RuntimeError("the store fell over")

    try:
        with app.test_client() as client:
            login(client)
            with caplog.at_level(logging.ERROR):
                response = client.get("/admin/boom")
        assert response.status_code == 500
        html = response.get_data(as_text=True)
        assert "Something went wrong on our side" in error_message(response)
        assert "the store fell over" not in html and "Traceback" not in html
        reference = re.search(r'id="error-reference">(\w+)<', html).group(1)
        logged = [r for r in caplog.records if reference in r.getMessage()]
        assert logged and logged[0].exc_info[0] is RuntimeError
        assert ADMIN_EMAIL in html  # still inside the admin layout, signed in
    finally:
        mongoengine.disconnect()

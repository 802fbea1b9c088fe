from admin_app.models import Customer, User

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, login, sign_out, submit


def test_anonymous_admin_pages_redirect_to_login(app):
    client = app.test_client()
    for url in ("/admin/", "/admin/customer/", "/admin/org/new/", "/admin/contact/",
                "/admin/customer/ajax/lookup/?name=org&query=a", "/admin/contract/",
                "/admin/sla/new/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next=")


def test_login_with_wrong_password_is_refused_with_a_message(app):
    client = app.test_client()
    response = login(client, ADMIN_EMAIL, "wrong")
    assert response.status_code == 401
    assert "That email and password do not match an active account." in response.get_data(
        as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_returns_to_the_page_asked_for(app):
    client = app.test_client()
    page = client.get("/login?next=/admin/org/")
    assert page.status_code == 200
    response = submit(client, "/login?next=/admin/org/",
                      {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.headers["Location"] == "/admin/org/"
    assert client.get("/admin/org/").status_code == 200


def test_login_never_redirects_off_site(app):
    client = app.test_client()
    response = submit(client, "/login?next=https://evil.example/",
                      {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.headers["Location"] == "/admin/"


def test_login_form_requires_csrf_token(app):
    client = app.test_client()
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_passwords_are_stored_hashed(app):
    with app.app_context():
        user = User.objects.get(email=ADMIN_EMAIL)
    assert ADMIN_PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_sign_out_ends_the_session(client):
    assert client.get("/admin/").status_code == 200
    response = sign_out(client)
    assert response.headers["Location"] == "/login"
    assert "You have signed out." in client.get("/login").get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_record_forms_require_csrf_token(client):
    response = client.post("/admin/customer/new/", data={"name": "No Token", "level": "Customer"})
    assert response.status_code == 200
    assert Customer.objects(name="No Token").count() == 0
    html = response.get_data(as_text=True)
    assert "security token is missing or has expired; nothing was saved" in html

"""Saved views of the record lists (issue 24, point 3): a login saves the list it shows
under a name and opens it again from the list's Views; an admin shares one with everyone;
a view naming a retired field still opens, without that filter, with the list's notice;
on mongomock and on the embedded store."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from admin_app.customising.fields import update_field
from admin_app.models import User
from admin_app.models.saved_views import SavedView

from .helpers import AGENT_PASSWORD, csrf_token, login
from .test_list_filters import make_desk, names

FILTERED = [("f.tier", "Gold"), ("f.vip", "yes"), ("search", "e"), ("cols", "name,tier")]


@pytest.fixture
def desk(store_app):
    with store_app.app_context():
        return make_desk()


def signed_in(app, email: str = "admin@example.com", role: str = "admin"):
    """A client signed in as `email` (made an agent first if it is not the admin). Not a
    `with` client: an admin's and an agent's pages in one test keep their own contexts."""
    if role == "agent":
        with app.app_context():
            agent = User(email=email, role="agent")
            agent.set_password(AGENT_PASSWORD)
            agent.save()
        password = AGENT_PASSWORD
    else:
        from .helpers import ADMIN_PASSWORD as password
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


@pytest.fixture
def admin(store_app):
    return signed_in(store_app)


def agent_of(app):
    return signed_in(app, "agent@example.com", "agent")


def views(page: str) -> dict[str, str]:
    """The Views panel: each view's name and its link, as the page shows them."""
    panel = page.split('id="saved-views"', 1)[1].split("</section>", 1)[0]
    return {html_lib.unescape(name): html_lib.unescape(url) for url, name in re.findall(
        r'<a href="([^"]*)" class="saved-view-link"[^>]*>(.*?)</a>', panel)}


def delete_links(page: str) -> dict[str, str]:
    return {html_lib.unescape(name): html_lib.unescape(url) for url, name in re.findall(
        r'<a href="([^"]*)" class="small saved-view-delete" aria-label="Delete the view '
        r'([^"]*)"', page)}


def save(client, list_url: str, name: str, **extra: str):
    """Press Save view on the list at `list_url`: its form, as the page holds it."""
    page = client.get(list_url).get_data(as_text=True)
    opening, form = page.split('id="save-view-form"', 1)
    action = html_lib.unescape(re.findall(r'action="([^"]*)"', opening)[-1])
    form = form.split("</form>", 1)[0]
    args = html_lib.unescape(re.search(r'name="args" value="([^"]*)"', form).group(1))
    return client.post(action, data={"csrf_token": csrf_token(form), "args": args,
                                     "name": name, **extra})


def test_a_saved_view_opens_the_list_as_it_was(store_client, desk, store_app):
    url = "/admin/customer/?" + urlencode(FILTERED + [("archived", "1")])
    answer = save(store_client, url, "Gold VIPs <b>")
    assert answer.status_code == 302
    with store_app.app_context():
        saved = SavedView.objects.get()
        assert (saved.name, saved.list, saved.shared) == ("Gold VIPs <b>", "customer", False)
        assert saved.args == [["archived", "1"], ["search", "e"], ["f.tier", "Gold"],
                              ["f.vip", "yes"], ["cols", "name,tier"]]
    plain = store_client.get("/admin/customer/").get_data(as_text=True)
    assert "Gold VIPs &lt;b&gt;" in plain and "<b>" not in plain.split('id="saved-views"')[1]
    link = views(plain)["Gold VIPs <b>"]
    assert dict(parse_qsl(urlsplit(link).query)) == dict(saved.args)
    opened = store_client.get(link).get_data(as_text=True)
    assert 'aria-current="page">Archived' in opened
    assert names(opened) == ["Di Evans"]  # archived, Gold, VIP, a word starting "e"
    assert 'aria-current="true">Gold VIPs' in opened
    current = store_client.get(link.replace("archived=1&search=e&", "")).get_data(as_text=True)
    assert names(current) == ["Ann Lee"]  # the same filters, on the Current tab


def test_a_view_of_a_retired_field_opens_without_it(store_client, desk, store_app):
    save(store_client, "/admin/customer/?f.tier=Silver&f.vip=no", "Silver")
    with store_app.app_context():
        update_field("customer", "tier", retired=True)
    page = store_client.get("/admin/customer/").get_data(as_text=True)
    opened = store_client.get(views(page)["Silver"])
    text = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "These filters or columns were dropped: Tier (retired)." in text
    assert names(text) == ["Bo Chan", "Cy Dunn"]  # vip no, tier no longer asked


def test_a_views_sort_follows_its_column_when_the_list_columns_change(store_client, desk,
                                                                      store_app):
    save(store_client, "/admin/customer/?sort=2&desc=1", "By department")  # Department
    with store_app.app_context():
        assert SavedView.objects.get().args == [["sort_field", "department"], ["desc", "1"]]
        update_field("customer", "org", list_column=None)  # Department is column 1 now
    link = views(store_client.get("/admin/customer/").get_data(as_text=True))["By department"]
    assert dict(parse_qsl(urlsplit(link).query)) == {"sort": "1", "desc": "1"}
    opened = store_client.get(link).get_data(as_text=True)
    assert names(opened) == ["Cy Dunn", "Bo Chan", "Ann Lee"]  # Sales, Finance Ops, Finance
    assert 'aria-current="true">By department' in opened
    with store_app.app_context():
        update_field("customer", "department", list_column=None)
    link = views(store_client.get("/admin/customer/").get_data(as_text=True))["By department"]
    assert "sort" not in dict(parse_qsl(urlsplit(link).query))  # no column to sort by
    assert names(store_client.get(link).get_data(as_text=True)) == [
        "Ann Lee", "Bo Chan", "Cy Dunn"]


def test_a_name_used_again_asks_before_replacing(store_client, desk, store_app):
    save(store_client, "/admin/customer/?f.tier=Gold", "Mine")
    asked = save(store_client, "/admin/customer/?f.tier=Silver", "Mine")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "Replace your view Mine?" in page and "Tier is Silver" in page
    with store_app.app_context():
        assert SavedView.objects.get().args == [["f.tier", "Gold"]]
    form = page.split('id="confirm-form"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="([^"]+)" (?:type="hidden" )?value="([^"]*)"', form))
    assert fields["replace"] == "1"
    done = store_client.post("/admin/saved-views/save/customer/",
                             data={k: html_lib.unescape(v) for k, v in fields.items()})
    assert done.status_code == 302
    with store_app.app_context():
        assert SavedView.objects.get().args == [["f.tier", "Silver"]]
    assert "The view Mine is saved." in store_client.get(done.location).get_data(as_text=True)


def test_a_view_needs_a_name_and_a_fresh_page(store_client, desk, store_app):
    answer = save(store_client, "/admin/customer/", "   ")
    assert "Give the view a name to save it." in store_client.get(answer.location) \
        .get_data(as_text=True)
    stale = store_client.post("/admin/saved-views/save/customer/", data={"name": "x"})
    assert stale.status_code == 400
    assert "Traceback" not in stale.get_data(as_text=True)
    assert "page had expired" in stale.get_data(as_text=True)
    with store_app.app_context():
        assert SavedView.objects.count() == 0


def test_views_are_per_list_and_per_login(store_app, admin, desk):
    save(admin, "/admin/org/?search=acme", "Acme orgs")
    save(admin, "/admin/contact/", "All contacts")
    assert list(views(admin.get("/admin/org/").get_data(as_text=True))) == ["Acme orgs"]
    assert list(views(admin.get("/admin/customer/").get_data(as_text=True))) == []
    contact = admin.get("/admin/contact/").get_data(as_text=True)
    assert list(views(contact)) == ["All contacts"]
    agent = agent_of(store_app)
    assert views(agent.get("/admin/org/").get_data(as_text=True)) == {}


def test_an_admin_shares_a_view_and_an_agent_cannot(store_app, admin, desk):
    assert 'id="save-view-shared"' in admin.get("/admin/customer/").get_data(
        as_text=True)
    save(admin, "/admin/customer/?f.tier=Gold", "Desk Gold", shared="1")
    save(admin, "/admin/customer/?f.tier=Silver", "Admin only")
    agent = agent_of(store_app)
    page = agent.get("/admin/customer/").get_data(as_text=True)
    assert 'id="save-view-shared"' not in page
    assert list(views(page)) == ["Desk Gold"]
    assert "shared by admin@example.com" in page
    assert delete_links(page) == {}  # not the agent's to delete
    opened = agent.get(views(page)["Desk Gold"]).get_data(as_text=True)
    assert names(opened) == ["Ann Lee", "Cy Dunn"]
    save(agent, "/admin/customer/?f.vip=yes", "Agent VIPs", shared="1")
    with store_app.app_context():
        mine = SavedView.objects.get(name="Agent VIPs")
        assert mine.shared is False and mine.owner_email == "agent@example.com"
        shared = SavedView.objects.get(name="Desk Gold")
    page = agent.get("/admin/customer/").get_data(as_text=True)
    assert list(views(page)) == ["Agent VIPs", "Desk Gold"]
    assert list(delete_links(page)) == ["Agent VIPs"]
    refused = agent.get(f"/admin/saved-views/{shared.pk}/delete/")
    assert refused.status_code == 403
    assert "Only the login that saved this view, or an admin if it is shared, may delete " \
        "it." in refused.get_data(as_text=True)
    assert agent.post(f"/admin/saved-views/{shared.pk}/delete/",
                      data={"csrf_token": csrf_token(page)}).status_code == 403
    with store_app.app_context():
        assert SavedView.objects(name="Desk Gold").count() == 1
    admin_page = admin.get("/admin/customer/").get_data(as_text=True)
    assert list(views(admin_page)) == ["Admin only", "Desk Gold"]  # not the agent's own


def test_deleting_asks_first(store_app, store_client, desk):
    save(store_client, "/admin/customer/?f.tier=Gold", "Old <i>")
    link = delete_links(store_client.get("/admin/customer/").get_data(as_text=True))["Old <i>"]
    asked = store_client.get(link).get_data(as_text=True)
    assert "Delete the view Old &lt;i&gt;?" in asked
    with store_app.app_context():
        assert SavedView.objects.count() == 1
    assert store_client.post(link, data={}).status_code == 400
    done = store_client.post(link, data={"csrf_token": csrf_token(asked)})
    assert done.status_code == 302 and done.location.endswith("/admin/customer/")
    with store_app.app_context():
        assert SavedView.objects.count() == 0
    page = store_client.get(done.location).get_data(as_text=True)
    assert "The view Old &lt;i&gt; is deleted." in page and views(page) == {}
    gone = store_client.get(link)
    assert gone.status_code == 404
    assert "That view is not there any more" in gone.get_data(as_text=True)


def test_an_admin_deletes_a_shared_view_of_another(store_app, admin, desk):
    save(agent_of(store_app), "/admin/customer/", "Agent view")
    with store_app.app_context():
        SavedView.objects(name="Agent view").update(set__shared=True)
    page = admin.get("/admin/customer/").get_data(as_text=True)
    link = delete_links(page)["Agent view"]
    asked = admin.get(link).get_data(as_text=True)
    assert "It is shared: nobody will see it any more." in asked
    admin.post(link, data={"csrf_token": csrf_token(asked)})
    with store_app.app_context():
        assert SavedView.objects.count() == 0

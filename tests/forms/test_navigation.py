"""The navigation marks the page being shown (aria-current="page", and underlined by CSS), on
exactly one link, for every role's links."""
import pathlib
import re

from models.people import users

NAV = pathlib.Path(__file__).resolve().parents[2] / "templates" / "nav"


def current_links(html):
    return re.findall(r'<a class="nav-link"[^>]*aria-current="page"[^>]*>([^<]+)</a>', html)


def test_the_current_page_is_marked_in_the_navigation(client, auth, make_account):
    patient = make_account(users.PATIENT, username="pat.nav")
    auth.login(patient["username"])
    assert current_links(client.get("/patient/grants").get_data(as_text=True)) == ["Sharing"]
    assert current_links(client.get("/patient/").get_data(as_text=True)) == ["My records"]
    assert current_links(client.get("/patient/access-log").get_data(as_text=True)) == [
        "Who saw my records"]


def test_a_page_outside_the_navigation_marks_nothing(client, auth, make_account):
    admin = make_account(users.ADMIN, username="admin.nav")
    auth.login(admin["username"])
    assert current_links(client.get("/admin/organizations/new").get_data(as_text=True)) == []


def test_every_navigation_link_can_be_marked():
    for path in NAV.glob("*.html"):
        for link in re.findall(r'<a class="nav-link"[^>]*>', path.read_text()):
            endpoint = re.search(r"url_for\('([a-z_.]+)'\)", link).group(1)
            assert f"current_page('{endpoint}')" in link, (path.name, link)

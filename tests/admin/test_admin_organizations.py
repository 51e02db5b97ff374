"""Admin: organizations with their first manager, and disabling them."""
import re

import pytest

from models.people import organizations, users
from tests.support_people import (ANONYMOUS, assert_refused, fresh, login_as, make_org, snapshot,
                                  store)

GOOD = {"name": "Lakeside Hospital", "kind": "hospital", "manager_name": "Maria Lopez",
        "manager_username": "manager.lakeside"}


def setup_code(html):
    return re.search(rb'data-testid="setup-code">([A-Z0-9-]+)<', html).group(1).decode()


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.ADMIN] + [ANONYMOUS])
def test_only_admins_manage_organizations(app, client, auth, make_account, org, role):
    login_as(auth, make_account, role)
    before = snapshot(app)
    assert_refused(client.get("/admin/"), role)
    assert_refused(client.get("/admin/organizations"), role)
    assert_refused(client.get("/admin/organizations/new"), role)
    assert_refused(client.post("/admin/organizations/new", data=GOOD), role)
    assert_refused(client.post(f"/admin/organizations/{org['human_id']}/disable"), role)
    assert snapshot(app) == before
    assert store(app).organizations.find_one({"_id": org["_id"]})["active"] is True


def test_admin_creates_an_organization_with_its_manager_who_sets_a_password(app, client, auth, admin):
    auth.login(admin["username"])
    assert client.get("/admin/organizations/new").status_code == 200
    response = client.post("/admin/organizations/new", data=GOOD)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    org = store(app).organizations.find_one({"name": "Lakeside Hospital"})
    assert re.fullmatch(r"ORG-\d{4}", org["human_id"]) and org["kind"] == "hospital" and org["active"]
    assert org["human_id"].encode() in response.data
    manager = store(app).users.find_one({"username": "manager.lakeside"})
    assert manager["role"] == users.ORG_MANAGER and manager["org_id"] == org["human_id"]
    assert manager["must_set_password"] is True
    code = setup_code(response.data)
    assert code not in str(manager)  # only its bcrypt hash is stored
    listing = client.get("/admin/organizations")
    assert b"Lakeside Hospital" in listing.data and b"Maria Lopez" in listing.data
    auth.logout()

    assert auth.login("manager.lakeside", code).status_code == 302
    assert client.get("/organization/").headers["Location"] == "/password"
    client.post("/password", data={"password": "lakeside manager secret",
                                   "confirm": "lakeside manager secret"})
    dashboard = client.get("/organization/")
    assert dashboard.status_code == 200 and b"Lakeside Hospital" in dashboard.data


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("name", "ab"), ("name", "x" * 121), ("kind", "spa"), ("kind", ""),
    ("manager_name", ""), ("manager_name", "R2-D2 <script>"), ("manager_username", "a"),
    ("manager_username", "has space"), ("manager_username", "Ünïcode"),
])
def test_bad_input_is_a_400_next_to_the_field_and_creates_nothing(app, client, auth, admin, field,
                                                                  value):
    auth.login(admin["username"])
    before = snapshot(app)
    response = client.post("/admin/organizations/new", data=dict(GOOD, **{field: value}))
    assert response.status_code == 400
    assert b"invalid-feedback" in response.data
    assert snapshot(app) == before


def test_duplicates_are_a_409_and_create_nothing(app, client, auth, admin, make_account):
    auth.login(admin["username"])
    assert client.post("/admin/organizations/new", data=GOOD).status_code == 200
    before = snapshot(app)
    same_name = dict(GOOD, name="  LAKESIDE   hospital ", manager_username="someone.else")
    response = client.post("/admin/organizations/new", data=same_name)
    assert response.status_code == 409 and b"An organization with that name exists." in response.data
    taken = dict(GOOD, name="Hillside Clinic", kind="clinic")
    response = client.post("/admin/organizations/new", data=taken)
    assert response.status_code == 409 and b"That username is taken." in response.data
    assert snapshot(app) == before


def test_a_manager_insert_that_fails_late_removes_the_organization(app, admin, monkeypatch):
    from models.core.errors import Conflict
    from models.people import accounts

    def taken_meanwhile(*args, **kwargs):
        raise Conflict("That username is taken.", {"username": "That username is taken."})
    monkeypatch.setattr(accounts, "create_with_setup_code", taken_meanwhile)
    with app.app_context():
        with pytest.raises(Conflict):
            organizations.create_with_manager(store(app), rounds=4, **GOOD)
    assert store(app).organizations.count_documents({}) == 0


def test_disabling_an_organization_disables_its_accounts_but_not_patients(app, client, auth, admin,
                                                                           org, other_org, make_account):
    manager = make_account(users.ORG_MANAGER, org_id=org["human_id"])
    doctor = make_account(users.DOCTOR, org_id=org["human_id"])
    elsewhere = make_account(users.DOCTOR, org_id=other_org["human_id"])
    patient = make_account(users.PATIENT)
    auth.login(admin["username"])
    response = client.post(f"/admin/organizations/{org['human_id']}/disable")
    assert response.status_code == 302
    assert store(app).organizations.find_one({"_id": org["_id"]})["active"] is False
    assert not fresh(app, manager)["active"] and fresh(app, manager)["disabled_with_org"]
    assert not fresh(app, doctor)["active"]
    assert fresh(app, elsewhere)["active"] and fresh(app, patient)["active"]
    assert client.post(f"/admin/organizations/{org['human_id']}/disable").status_code == 409
    assert client.post("/admin/organizations/ORG-9999/disable").status_code == 404
    auth.logout()
    assert auth.login(doctor["username"]).status_code == 401


def test_the_organization_list_shows_human_ids_not_object_ids(app, client, auth, admin):
    make_org(app, "Pharmacy One", organizations.PHARMACY)
    auth.login(admin["username"])
    page = client.get("/admin/organizations").data.decode()
    org = store(app).organizations.find_one({})
    assert org["human_id"] in page and str(org["_id"]) not in page

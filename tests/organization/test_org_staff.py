"""Organization managers: their staff list, adding staff, disabling only their own staff."""
import re

import pytest

from models.people import organizations, users
from tests.support_people import (ANONYMOUS, assert_refused, fresh, login_as, make_org, snapshot,
                                  store)

NEW_DOCTOR = {"role": "doctor", "name": "Ada Okonkwo", "username": "dr.okonkwo"}


def setup_code(html):
    return re.search(rb'data-testid="setup-code">([A-Z0-9-]+)<', html).group(1).decode()


@pytest.fixture
def staff(make_account, org):
    return {role: make_account(role, org_id=org["human_id"], name=f"Staff {role}")
            for role in (users.DOCTOR, users.PHARMACIST, users.LAB_TECH)}


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.ORG_MANAGER] + [ANONYMOUS])
def test_only_managers_reach_the_organization_pages(app, client, auth, make_account, staff, org, role):
    login_as(auth, make_account, role, org_id=org["human_id"])
    before = snapshot(app)
    doctor = staff[users.DOCTOR]
    for method, url in (("GET", "/organization/"), ("GET", "/organization/staff/new"),
                        ("POST", "/organization/staff/new"),
                        ("POST", f"/organization/staff/{doctor['human_id']}/disable"),
                        ("GET", "/organization/patients/new"), ("POST", "/organization/patients/new")):
        assert_refused(client.open(url, method=method, data=NEW_DOCTOR), role)
    assert snapshot(app) == before
    assert fresh(app, doctor)["active"]


def test_dashboard_lists_own_staff_with_ids_roles_and_states(app, client, auth, manager, staff,
                                                             other_org, make_account):
    foreign = make_account(users.DOCTOR, org_id=other_org["human_id"], name="Foreign Doctor")
    unverified = make_account(users.DOCTOR, org_id=manager["org_id"], verified=False, name="New Doctor")
    auth.login(manager["username"])
    page = client.get("/organization/")
    assert page.status_code == 200
    html = page.data.decode()
    assert html.count('data-testid="staff-row"') == 4
    for account in list(staff.values()) + [unverified]:
        assert account["human_id"] in html
    assert foreign["human_id"] not in html and "Foreign Doctor" not in html
    assert manager["human_id"] not in html.split('data-testid="staff-table"')[1]  # not staff
    assert "Pharmacist" in html and "Lab technician" in html
    assert 'data-state="unverified"' in html and 'data-state="verified"' in html
    assert 'data-testid="nav-org-add-staff"' in html and 'data-testid="nav-org-register-patient"' in html


def test_manager_adds_a_doctor_who_starts_unverified(app, client, auth, manager):
    auth.login(manager["username"])
    assert client.get("/organization/staff/new").status_code == 200
    response = client.post("/organization/staff/new", data=NEW_DOCTOR)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    doctor = store(app).users.find_one({"username": "dr.okonkwo"})
    assert doctor["role"] == users.DOCTOR and doctor["org_id"] == manager["org_id"]
    assert doctor["verification"]["state"] == "unverified" and doctor["must_set_password"]
    assert doctor["human_id"].startswith("DOC-") and doctor["human_id"].encode() in response.data
    code = setup_code(response.data)
    auth.logout()
    auth.login("dr.okonkwo", code)
    client.post("/password", data={"password": "okonkwo own password", "confirm": "okonkwo own password"})
    assert client.get("/doctor/").headers["Location"] == "/doctor/verification"


@pytest.mark.parametrize("kind, role", [(organizations.PHARMACY, users.PHARMACIST),
                                        (organizations.LAB, users.LAB_TECH),
                                        (organizations.CLINIC, users.DOCTOR),
                                        (organizations.HOSPITAL, users.FRONT_DESK)])
def test_managers_add_the_staff_their_kind_employs(app, client, auth, make_account, kind, role):
    org = make_org(app, f"The {kind} of the test", kind)
    manager = make_account(users.ORG_MANAGER, org_id=org["human_id"])
    auth.login(manager["username"])
    form = client.get("/organization/staff/new").get_data(as_text=True)
    role_select = form.split('name="role"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([a-z_]+)"', role_select) == list(
        organizations.ROLES_BY_KIND[kind])
    assert ('name="specialty"' in form) == (users.DOCTOR in organizations.ROLES_BY_KIND[kind])
    response = client.post("/organization/staff/new",
                           data={"role": role, "name": "Sam Reyes", "username": f"{role}.reyes"})
    assert response.status_code == 200
    account = store(app).users.find_one({"username": f"{role}.reyes"})
    assert account["role"] == role and account["org_id"] == org["human_id"]
    assert account["human_id"].startswith("DOC-" if role == users.DOCTOR else "STF-")


@pytest.mark.parametrize("kind, role, message", [
    (organizations.HOSPITAL, users.PHARMACIST, "A hospital cannot employ a pharmacist: its staff are doctors, front desk staff or researchers."),
    (organizations.CLINIC, users.LAB_TECH, "A clinic cannot employ a lab technician: its staff are doctors or front desk staff."),
    (organizations.PHARMACY, users.DOCTOR, "A pharmacy cannot employ a doctor: its staff are pharmacists."),
    (organizations.PHARMACY, users.LAB_TECH, "A pharmacy cannot employ a lab technician"),
    (organizations.LAB, users.PHARMACIST, "A laboratory cannot employ a pharmacist: its staff are lab technicians."),
    (organizations.PHARMACY, users.FRONT_DESK, "A pharmacy cannot employ a front desk: its staff are pharmacists."),
])
def test_a_role_the_organization_kind_does_not_employ_is_refused(app, client, auth, make_account,
                                                                 kind, role, message):
    org = make_org(app, f"The {kind} of the test", kind)
    manager = make_account(users.ORG_MANAGER, org_id=org["human_id"])
    auth.login(manager["username"])
    form = client.get("/organization/staff/new").get_data(as_text=True)
    assert f'<option value="{role}"' not in form
    before = snapshot(app)
    response = client.post("/organization/staff/new",
                           data={"role": role, "name": "Sam Reyes", "username": "sam.reyes"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert b"invalid-feedback" in response.data
    assert snapshot(app) == before
    assert store(app).users.find_one({"username": "sam.reyes"}) is None


@pytest.mark.parametrize("data,status", [
    (dict(NEW_DOCTOR, role="admin"), 400), (dict(NEW_DOCTOR, role="org_manager"), 400),
    (dict(NEW_DOCTOR, role="patient"), 400), (dict(NEW_DOCTOR, role=""), 400),
    (dict(NEW_DOCTOR, name=""), 400), (dict(NEW_DOCTOR, name="1234"), 400),
    (dict(NEW_DOCTOR, username="no spaces allowed"), 400), (dict(NEW_DOCTOR, username="manager.test"), 409),
])
def test_bad_staff_input_creates_nothing(app, client, auth, manager, data, status):
    auth.login(manager["username"])
    before = snapshot(app)
    response = client.post("/organization/staff/new", data=data)
    assert response.status_code == status
    assert b"invalid-feedback" in response.data
    assert snapshot(app) == before


def test_manager_disables_own_staff(app, client, auth, manager, staff):
    auth.login(manager["username"])
    pharmacist = staff[users.PHARMACIST]
    assert client.post(f"/organization/staff/{pharmacist['human_id']}/disable").status_code == 302
    assert fresh(app, pharmacist)["active"] is False
    assert client.post(f"/organization/staff/{pharmacist['human_id']}/disable").status_code == 409
    auth.logout()
    assert auth.login(pharmacist["username"]).status_code == 401


def test_another_organizations_manager_cannot_touch_our_staff(app, client, auth, other_manager, staff,
                                                              manager):
    auth.login(other_manager["username"])
    page = client.get("/organization/").data.decode()
    for account in staff.values():
        assert account["human_id"] not in page
        response = client.post(f"/organization/staff/{account['human_id']}/disable")
        assert response.status_code == 404
        assert fresh(app, account)["active"] is True
    # nor another manager, nor a patient, even of their own organization
    assert client.post(f"/organization/staff/{manager['human_id']}/disable").status_code == 404
    assert fresh(app, manager)["active"] is True


def test_a_manager_without_an_organization_is_told_so(client, auth, make_account):
    orphan = make_account(users.ORG_MANAGER, username="orphan")
    auth.login(orphan["username"])
    page = client.get("/organization/")
    assert page.status_code == 200 and b'data-testid="no-organization"' in page.data
    assert client.get("/organization/staff/new").status_code == 404

"""Admin: the dashboard, auditors, locked accounts and disabling accounts; `flask create-admin`."""
from datetime import timedelta

import pytest

from models.core import clock
from models.people import users
from tests.conftest import as_the_app
from tests.conftest import PASSWORD
from tests.support_people import ANONYMOUS, assert_refused, fresh, login_as, snapshot, store


def lock(app, account, minutes=15):
    as_the_app(app, "users", {"_id": account["_id"]}, {"$set": {
        "locked_until": clock.now() + timedelta(minutes=minutes), "failed_logins": 0}})


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.ADMIN] + [ANONYMOUS])
def test_only_admins_manage_accounts_and_auditors(app, client, auth, make_account, role):
    victim = make_account(users.PATIENT, username="victim")
    lock(app, victim)
    login_as(auth, make_account, role)
    before = snapshot(app)
    for method, url in (("GET", "/admin/auditors"), ("POST", "/admin/auditors"),
                        ("GET", "/admin/accounts"), ("GET", "/admin/accounts?q=victim"),
                        ("POST", f"/admin/accounts/{victim['human_id']}/unlock"),
                        ("POST", f"/admin/accounts/{victim['human_id']}/disable")):
        assert_refused(client.open(url, method=method, data={"name": "Eve Spy", "username": "eve"}),
                       role)
    assert snapshot(app) == before
    assert fresh(app, victim)["active"] and users.is_locked(fresh(app, victim))


def test_dashboard_counts(app, client, auth, admin, org, pending_doctor, make_account):
    lock(app, make_account(users.PATIENT))
    make_account(users.AUDITOR)
    auth.login(admin["username"])
    page = client.get("/admin/").data.decode()
    for testid, expected in (("count-organizations", 1), ("count-pending", 1), ("count-locked", 1),
                             ("count-auditors", 1)):
        assert f'data-testid="{testid}">{expected}<' in page
    for nav in ("organizations", "verifications", "auditors", "accounts"):
        assert f'data-testid="nav-admin-{nav}"' in page


def test_admin_creates_an_auditor_with_a_setup_code(app, client, auth, admin):
    auth.login(admin["username"])
    response = client.post("/admin/auditors", data={"name": "Iris Bauer", "username": "iris"})
    assert response.status_code == 200 and b'data-testid="setup-code"' in response.data
    auditor = store(app).users.find_one({"username": "iris"})
    assert auditor["role"] == users.AUDITOR and auditor["human_id"].startswith("AUD-")
    assert auditor["must_set_password"] and auditor["created_by"] == admin["human_id"]
    listing = client.get("/admin/auditors")
    assert b"Iris Bauer" in listing.data and auditor["human_id"].encode() in listing.data


def test_auditor_form_errors(app, client, auth, admin, make_account):
    make_account(users.PATIENT, username="taken")
    auth.login(admin["username"])
    before = snapshot(app)
    response = client.post("/admin/auditors", data={"name": "", "username": "x"})
    assert response.status_code == 400 and b"invalid-feedback" in response.data
    response = client.post("/admin/auditors", data={"name": "Ok Name", "username": "taken"})
    assert response.status_code == 409 and b"That username is taken." in response.data
    assert snapshot(app) == before


def test_locked_accounts_are_listed_and_unlocked(app, client, auth, admin, make_account):
    locked = make_account(users.DOCTOR, username="dr.locked")
    expired = make_account(users.PATIENT, username="was.locked")
    lock(app, locked)
    lock(app, expired, minutes=-1)
    auth.login(admin["username"])
    page = client.get("/admin/accounts")
    assert page.status_code == 200
    assert page.data.count(b'data-testid="locked-row"') == 1
    assert locked["human_id"].encode() in page.data and expired["human_id"].encode() not in page.data
    assert client.post(f"/admin/accounts/{locked['human_id']}/unlock").status_code == 302
    assert not users.is_locked(fresh(app, locked))
    assert client.post(f"/admin/accounts/{locked['human_id']}/unlock").status_code == 409
    assert client.post("/admin/accounts/PAT-999999/unlock").status_code == 404
    auth.logout()
    assert auth.login(locked["username"]).status_code == 302


def test_a_real_lockout_shows_up_for_the_admin(app, client, auth, admin, make_account):
    patient = make_account(users.PATIENT, username="forgetful")
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        auth.login("forgetful", "wrong password, again")
    assert auth.login("forgetful", PASSWORD).status_code == 401  # as for an unknown name
    auth.login(admin["username"])
    assert patient["human_id"].encode() in client.get("/admin/accounts").data


def test_admin_finds_and_disables_an_account_but_not_their_own(app, client, auth, admin, make_account):
    patient = make_account(users.PATIENT, username="leaving")
    auth.login(admin["username"])
    for query in (patient["human_id"], patient["human_id"].lower(), "leaving"):
        page = client.get(f"/admin/accounts?q={query}")
        assert b'data-testid="account-found"' in page.data and patient["human_id"].encode() in page.data
    assert b'data-testid="account-not-found"' in client.get("/admin/accounts?q=nobody").data
    assert client.post(f"/admin/accounts/{patient['human_id']}/disable").status_code == 302
    assert fresh(app, patient)["active"] is False
    assert client.post(f"/admin/accounts/{patient['human_id']}/disable").status_code == 409
    assert client.post(f"/admin/accounts/{admin['human_id']}/disable").status_code == 403
    assert fresh(app, admin)["active"] is True
    auth.logout()
    assert auth.login("leaving").status_code == 401


def test_create_admin_prompts_without_echoing_the_password(app, runner):
    secret = "a very long admin secret"
    result = runner.invoke(args=["create-admin"], input=f"boss\nBoss Person\n{secret}\n{secret}\n")
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    admin = store(app).users.find_one({"username": "boss"})
    assert admin["role"] == users.ADMIN and users.check_password(admin, secret)
    assert admin["human_id"] in result.output
    again = runner.invoke(args=["create-admin"], input=f"boss\nBoss Two\n{secret}\n{secret}\n")
    assert again.exit_code != 0 and "taken" in again.output
    short = runner.invoke(args=["create-admin"], input="shorty\nShort Pw\nshort\nshort\n")
    assert short.exit_code != 0 and store(app).users.find_one({"username": "shorty"}) is None

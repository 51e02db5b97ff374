"""Re-enabling accounts and organizations, and a new setup code for a forgotten password:
who may, what changes (exactly the accounts an organization's disabling switched off), and the
sealed block of each (which never holds the code)."""
import logging
import re

import pytest

from models.people import account_events, users
from tests.conftest import PASSWORD
from tests.support_people import (ANONYMOUS, assert_refused, blocks_of_kind, fresh, login_as,
                                  snapshot, store)

SETUP_CODE = r'data-testid="setup-code">([A-Z0-9-]+)<'


@pytest.fixture
def staff(make_account, org):
    """Two doctors of the hospital and a patient (patients belong to no organization)."""
    return (make_account(users.DOCTOR, username="dr.one", name="Dora One", org_id=org["human_id"]),
            make_account(users.DOCTOR, username="dr.two", name="Theo Two", org_id=org["human_id"]))


def _code(response):
    match = re.search(SETUP_CODE, response.get_data(as_text=True))
    assert match, "the page shows the new code"
    return match.group(1)


def test_an_admin_re_enables_a_disabled_account_sealed(app, client, auth, admin, staff):
    one, _ = staff
    auth.login(admin["username"])
    assert client.post(f"/admin/accounts/{one['human_id']}/disable").status_code == 302
    page = client.get(f"/admin/accounts?q={one['human_id']}").text
    assert 'data-testid="enable-account"' in page and 'data-testid="disable-account"' not in page
    response = client.post(f"/admin/accounts/{one['human_id']}/enable")
    assert response.status_code == 302
    account = fresh(app, one)
    assert account["active"] and "disabled_at" not in account
    [block] = blocks_of_kind(app, account_events.ACCOUNT_ENABLED)
    assert block["subject"] == {"account": one["human_id"]} and block["actor"] == admin["actor"]
    assert client.post(f"/admin/accounts/{one['human_id']}/enable").status_code == 409
    assert client.post("/admin/accounts/DOC-999999/enable").status_code == 404
    auth.logout()
    assert auth.login(one["username"]).status_code == 302


def test_re_enabling_an_organization_restores_exactly_what_its_disabling_disabled(
        app, client, auth, admin, org, manager, staff):
    one, two = staff
    auth.login(admin["username"])
    assert client.post(f"/admin/accounts/{one['human_id']}/disable").status_code == 302
    assert client.post(f"/admin/organizations/{org['human_id']}/disable").status_code == 302
    assert not fresh(app, two)["active"] and not fresh(app, manager)["active"]
    # An account switched off with its organization comes back only with it.
    refused = client.post(f"/admin/accounts/{two['human_id']}/enable")
    assert refused.status_code == 409 and "re-enable the organization first" in refused.text
    assert 'data-testid="enable-organization"' in client.get("/admin/organizations").text
    assert client.post(f"/admin/organizations/{org['human_id']}/enable").status_code == 302
    assert fresh(app, two)["active"] and fresh(app, manager)["active"]
    assert not fresh(app, one)["active"], "disabled on its own before: stays disabled"
    assert "disabled_with_org" not in fresh(app, two)
    [block] = blocks_of_kind(app, account_events.ORGANIZATION_ENABLED)
    assert block["subject"] == {"organization": org["human_id"]}
    assert client.post(f"/admin/organizations/{org['human_id']}/enable").status_code == 409
    assert client.post("/admin/organizations/ORG-9999/enable").status_code == 404
    [event] = list(store(app).account_events.find({"kind": account_events.ORGANIZATION_ENABLED}))
    assert event["details"] == {"accounts": sorted([two["human_id"], manager["human_id"]])}


def test_a_new_setup_code_replaces_the_password_and_is_never_sealed_nor_logged(
        app, client, auth, admin, staff, caplog):
    one, _ = staff
    auth.login(admin["username"])
    with caplog.at_level(logging.DEBUG):
        response = client.post(f"/admin/accounts/{one['human_id']}/setup-code")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "old password and any earlier code no longer work" in response.text
    code = _code(response)
    assert code not in caplog.text
    [block] = blocks_of_kind(app, account_events.CODE_REISSUED)
    assert block["subject"] == {"account": one["human_id"]} and code not in str(block)
    assert fresh(app, one)["must_set_password"]
    auth.logout()
    assert auth.login(one["username"], PASSWORD).status_code == 401
    assert auth.login(one["username"], code).status_code == 302
    sent_on = client.get("/doctor/")
    assert sent_on.status_code == 302 and sent_on.headers["Location"].endswith("/password")


def test_an_admin_cannot_reset_their_own_password_this_way(app, client, auth, admin):
    auth.login(admin["username"])
    before = snapshot(app)
    assert client.post(f"/admin/accounts/{admin['human_id']}/setup-code").status_code == 403
    assert snapshot(app) == before


def test_a_manager_re_enables_and_resets_their_own_staff_only(
        app, client, auth, manager, other_manager, staff, make_account, other_org):
    one, _ = staff
    stranger = make_account(users.DOCTOR, username="dr.far", org_id=other_org["human_id"])
    patient = make_account(users.PATIENT, username="pat.desk")
    auth.login(manager["username"])
    assert client.post(f"/organization/staff/{one['human_id']}/disable").status_code == 302
    assert 'data-testid="enable-staff"' in client.get("/organization/").text
    assert client.post(f"/organization/staff/{one['human_id']}/enable").status_code == 302
    assert fresh(app, one)["active"]
    reissued = client.post(f"/organization/staff/{one['human_id']}/setup-code")
    assert reissued.status_code == 200 and reissued.headers["Cache-Control"] == "no-store"
    _code(reissued)
    before = snapshot(app)
    for account in (stranger, patient, other_manager):
        for action in ("enable", "setup-code"):
            response = client.post(f"/organization/staff/{account['human_id']}/{action}")
            assert response.status_code == 404, (account["username"], action)
    assert snapshot(app) == before
    assert not fresh(app, stranger)["must_set_password"]


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.ADMIN] + [ANONYMOUS])
def test_only_admins_re_enable_accounts_and_organizations(app, client, auth, make_account, org,
                                                          staff, role):
    one, _ = staff
    login_as(auth, make_account, role, org_id=org["human_id"] if role in
             (users.ORG_MANAGER, users.DOCTOR, users.PHARMACIST, users.LAB_TECH) else None)
    before = snapshot(app)
    for url in (f"/admin/accounts/{one['human_id']}/enable",
                f"/admin/accounts/{one['human_id']}/setup-code",
                f"/admin/organizations/{org['human_id']}/enable"):
        assert_refused(client.post(url), role)
    assert snapshot(app) == before


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.ORG_MANAGER] + [ANONYMOUS])
def test_only_managers_use_the_staff_actions(app, client, auth, make_account, staff, role):
    one, _ = staff
    login_as(auth, make_account, role)
    before = snapshot(app)
    for action in ("enable", "setup-code"):
        assert_refused(client.post(f"/organization/staff/{one['human_id']}/{action}"), role)
    assert snapshot(app) == before


def test_disabling_is_sealed_too_and_names_what_an_organization_took_with_it(
        app, client, auth, admin, org, manager, staff):
    one, two = staff
    auth.login(admin["username"])
    assert client.post(f"/admin/accounts/{one['human_id']}/disable").status_code == 302
    [block] = blocks_of_kind(app, account_events.ACCOUNT_DISABLED)
    assert block["subject"] == {"account": one["human_id"]} and block["actor"] == admin["actor"]
    assert client.post(f"/admin/accounts/{one['human_id']}/disable").status_code == 409
    assert len(blocks_of_kind(app, account_events.ACCOUNT_DISABLED)) == 1   # nothing sealed twice
    assert client.post(f"/admin/accounts/{admin['human_id']}/disable").status_code == 403
    assert client.post(f"/admin/organizations/{org['human_id']}/disable").status_code == 302
    [block] = blocks_of_kind(app, account_events.ORGANIZATION_DISABLED)
    assert block["subject"] == {"organization": org["human_id"]}
    event = store(app).account_events.find_one({"kind": account_events.ORGANIZATION_DISABLED})
    # the one disabled before is not among those the organization took with it
    assert event["details"]["accounts"] == sorted([manager["human_id"], two["human_id"]])
    assert not fresh(app, two)["active"] and fresh(app, two)["disabled_with_org"]


def test_a_manager_disables_their_own_staff_sealed_and_nobody_elses(
        app, client, auth, manager, other_manager, staff):
    one, _ = staff
    auth.login(other_manager["username"])
    before = snapshot(app)
    assert client.post(f"/organization/staff/{one['human_id']}/disable").status_code == 404
    assert snapshot(app) == before and fresh(app, one)["active"]
    auth.logout()
    auth.login(manager["username"])
    assert client.post(f"/organization/staff/{one['human_id']}/disable").status_code == 302
    [block] = blocks_of_kind(app, account_events.ACCOUNT_DISABLED)
    assert block["subject"] == {"account": one["human_id"]} and block["actor"] == manager["actor"]
    assert not fresh(app, one)["active"]

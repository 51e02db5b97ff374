"""Consent through HTTP: the patient sees pending requests at login, approves (narrowing),
rejects, shares and revokes; doctors and organizations request and cancel; two approvals of
the same request at once give exactly one grant and one 409."""
import threading

import pytest

from models.consent import workflow as consent
from tests.conftest import PASSWORD


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def test_pending_requests_greet_the_patient_at_login(world, client, auth):
    req = world.ask(world.doctor, days=30)
    response = client.post("/login", data={"username": "patient", "password": PASSWORD},
                           follow_redirects=True)
    assert response.status_code == 200
    assert 'data-testid="pending-request"' in response.text
    assert req["request_id"] in response.text and world.doctor["name"] in response.text
    assert 'data-testid="approve-button"' in response.text


def test_approving_for_one_day_then_a_second_click_is_409(world, client, auth):
    req = world.ask(world.doctor, days=30)
    _login(auth, world.patient)
    first = client.post(f"/patient/requests/{req['request_id']}/approve", data={"duration_days": "1"})
    assert first.status_code == 302
    grant = world.find_one("grants", {})
    assert (grant["valid_until"] - grant["valid_from"]).days == 1
    assert grant["scope"] == req["scope"]
    second = client.post(f"/patient/requests/{req['request_id']}/approve", data={"duration_days": "1"})
    assert second.status_code == 409
    assert "already approved" in second.text
    assert world.count("grants") == 1
    dashboard = client.get("/patient/")
    assert 'data-testid="pending-request"' not in dashboard.text


def test_approving_with_a_narrower_scope_through_the_form(world, client, auth):
    req = world.ask(world.doctor, scope_kind="types", types=["allergy", "note"], days=30)
    _login(auth, world.patient)
    page = client.get(f"/patient/requests/{req['request_id']}")
    assert page.status_code == 200 and 'data-testid="approve-form"' in page.text
    wider = client.post(f"/patient/requests/{req['request_id']}/approve",
                        data={"scope": "all", "duration_days": "7"})
    assert wider.status_code == 400 and "narrow" in wider.text
    longer = client.post(f"/patient/requests/{req['request_id']}/approve",
                         data={"scope": "types", "types": ["allergy"], "duration_days": "90"})
    assert longer.status_code == 400
    assert world.count("grants") == 0
    ok = client.post(f"/patient/requests/{req['request_id']}/approve",
                     data={"scope": "types", "types": ["allergy"], "duration_days": "7"})
    assert ok.status_code == 302
    assert world.find_one("grants", {})["scope"] == {"kind": "types", "types": ["allergy"]}


def test_rejecting_with_a_note(world, client, auth):
    req = world.ask(world.doctor)
    _login(auth, world.patient)
    assert client.post(f"/patient/requests/{req['request_id']}/reject",
                       data={"note": "Ask my GP"}).status_code == 302
    stored = world.find_one("access_requests", {})
    assert (stored["state"], stored["decision_note"]) == ("rejected", "Ask my GP")
    assert client.post(f"/patient/requests/{req['request_id']}/reject").status_code == 409
    auth.logout()
    _login(auth, world.doctor)
    page = client.get("/doctor/requests")
    assert "Ask my GP" in page.text and 'data-state="rejected"' in page.text


def test_sharing_and_revoking_from_the_sharing_page(world, client, auth):
    _login(auth, world.patient)
    bad = client.post("/patient/grants/new", data={"grantee": "DOC-999999", "scope": "all",
                                                   "purpose": "treatment", "duration_days": "30"})
    assert bad.status_code == 400 and "No active doctor" in bad.text
    assert world.count("grants") == 0
    ok = client.post("/patient/grants/new", data={"grantee": world.hospital_b["human_id"],
                                                  "scope": "types", "types": ["allergy"],
                                                  "purpose": "treatment", "duration_days": "30"})
    assert ok.status_code == 302
    grant = world.find_one("grants", {})
    page = client.get("/patient/grants")
    assert grant["grant_id"] in page.text and 'data-testid="revoke-button"' in page.text
    assert client.post(f"/patient/grants/{grant['grant_id']}/revoke").status_code == 302
    assert world.find_one("grants", {})["state"] == "revoked"
    assert client.post(f"/patient/grants/{grant['grant_id']}/revoke").status_code == 409
    assert 'data-testid="revoke-button"' not in client.get("/patient/grants").text


def test_a_doctor_requests_and_cancels(world, client, auth):
    _login(auth, world.doctor)
    url = f"/doctor/patients/{world.patient['human_id']}/request-access"
    bad = client.post(url, data={"scope": "types", "purpose": "treatment", "duration_days": "7"})
    assert bad.status_code == 400 and "Choose at least one record type." in bad.text
    ok = client.post(url, data={"scope": "types", "types": ["allergy", "prescription"],
                                "purpose": "treatment", "duration_days": "7", "one_time": "y",
                                "message": "Before surgery"})
    assert ok.status_code == 302
    req = world.find_one("access_requests", {})
    assert (req["scope"]["types"], req["one_time"], req["message"]) == (
        ["allergy", "prescription"], True, "Before surgery")
    assert client.post(url, data={"scope": "all", "purpose": "treatment",
                                  "duration_days": "7"}).status_code == 409
    assert client.post(f"/doctor/requests/{req['request_id']}/cancel").status_code == 302
    assert world.find_one("access_requests", {})["state"] == "cancelled"
    assert client.post(f"/doctor/requests/{req['request_id']}/cancel").status_code == 409


def test_a_doctor_holding_a_live_grant_gets_409_naming_it(world, client, auth):
    grant = world.grant(world.doctor["human_id"])
    _login(auth, world.doctor)
    url = f"/doctor/patients/{world.patient['human_id']}/request-access"
    again = client.post(url, data={"scope": "types", "types": ["allergy"], "purpose": "treatment",
                                   "duration_days": "7"})
    assert again.status_code == 409
    assert grant["grant_id"] in again.text and "No new request is needed" in again.text
    assert world.count("access_requests") == 0


def test_an_organization_requests_prescriptions_for_its_pharmacy(world, client, auth):
    _login(auth, world.manager)
    assert client.get("/organization/requests").status_code == 200
    unknown = client.post("/organization/requests/new", data={
        "patient_id": "PAT-999999", "scope": "types", "types": ["prescription"],
        "purpose": "treatment", "duration_days": "30"})
    assert unknown.status_code == 400 and "There is no patient" in unknown.text
    ok = client.post("/organization/requests/new", data={
        "patient_id": world.patient["human_id"], "scope": "types", "types": ["prescription"],
        "purpose": "treatment", "duration_days": "30"})
    assert ok.status_code == 302
    req = world.find_one("access_requests", {})
    assert (req["requester_kind"], req["requester_id"], req["requested_by"]) == (
        "organization", world.pharmacy["human_id"], world.manager["human_id"])
    page = client.get("/organization/requests")
    assert req["request_id"] in page.text
    assert client.post(f"/organization/requests/{req['request_id']}/cancel").status_code == 302
    assert world.find_one("access_requests", {})["state"] == consent.CANCELLED


@pytest.mark.integration
def test_two_simultaneous_approvals_give_one_grant_and_one_409(world, app):
    results = []
    for doctor in (world.doctor, world.colleague, world.outsider):  # each grant stops a repeat
        req = world.ask(doctor, patient=world.patient)
        clients = [app.test_client() for _ in range(2)]
        for each in clients:
            assert each.post("/login", data={"username": "patient",
                                             "password": PASSWORD}).status_code == 302
        barrier = threading.Barrier(2)
        statuses = []

        def approve(each):
            barrier.wait()
            statuses.append(each.post(f"/patient/requests/{req['request_id']}/approve",
                                      data={"duration_days": "1"}).status_code)

        threads = [threading.Thread(target=approve, args=(each,)) for each in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        results.append(sorted(statuses))
        assert world.count("grants", {"request_id": req["request_id"]}) == 1
    assert results == [[302, 409]] * 3
    assert world.count("ledger_blocks", {"kind": consent.APPROVED_KIND}) == 3

"""The authorization matrix: every record, attachment, request and grant route, tried by each
role and by a doctor of another hospital against another patient's resources by id (IDOR).
Each gets 403 or 404, never the data, and nothing changes. A control shows every URL works
for the person it belongs to, so the refusals are not just wrong URLs."""
import io

import pytest

from tests.records.world import PDF, SECRET, VALID, upload

ACTORS = ["doctor", "colleague", "pharmacist", "lab_tech", "manager", "manager_b", "admin",
          "auditor", "other_patient"]


@pytest.fixture
def resources(world):
    """The patient's note and prescription (by a doctor of hospital B), a document with a file,
    a pending request from that doctor, and a grant to them."""
    note = world.write(world.outsider, "note")
    document = world.write(world.patient, "patient_provided", uploads=[upload(PDF, "mine.pdf")])
    prescription = world.write(world.outsider, "prescription")
    request = world.ask(world.outsider)
    grant = world.grant(world.outsider["human_id"])
    return {"note": note["record_id"], "doc": document["record_id"],
            "rx": prescription["record_id"], "req": request["request_id"],
            "grant": grant["grant_id"], "patient": world.patient["human_id"]}


def routes(r):
    """(method, url, form data) for every route that reaches a record, file, request or grant."""
    note_form = dict(VALID["note"], title="Hijacked")
    return [
        ("GET", f"/doctor/records/{r['note']}/v1", None),
        ("GET", f"/doctor/records/{r['note']}/v1/amend", None),
        ("POST", f"/doctor/records/{r['note']}/v1/amend", note_form),
        ("POST", f"/doctor/records/{r['note']}/v1/entered-in-error", {"reason": "Hijack"}),
        ("POST", f"/doctor/records/{r['note']}/v1/files", {"files": [(io.BytesIO(PDF), "x.pdf")]}),
        ("POST", f"/doctor/records/{r['rx']}/v1/cancel-prescription", {"reason": "Hijack"}),
        ("GET", f"/doctor/records/{r['doc']}/v1/files/0", None),
        ("GET", f"/patient/records/{r['note']}/v1", None),
        ("GET", f"/patient/records/{r['doc']}/v1/files/0", None),
        ("GET", f"/patient/records/{r['doc']}/v1/amend", None),
        ("POST", f"/patient/records/{r['doc']}/v1/amend", dict(VALID["patient_provided"],
                                                               title="Hijacked")),
        ("GET", f"/staff/records/{r['rx']}/v1", None),
        ("GET", f"/staff/records/{r['doc']}/v1/files/0", None),
        ("POST", f"/staff/prescriptions/{r['rx']}/v1/dispense", {}),
        ("GET", f"/staff/lab/patients/{r['patient']}/reports/new", None),
        ("POST", f"/staff/lab/patients/{r['patient']}/reports/new", dict(VALID["lab_report"])),
        ("GET", f"/patient/requests/{r['req']}", None),
        ("POST", f"/patient/requests/{r['req']}/approve", {"duration_days": "1"}),
        ("POST", f"/patient/requests/{r['req']}/reject", {"note": "x"}),
        ("POST", f"/doctor/requests/{r['req']}/cancel", {}),
        ("POST", f"/organization/requests/{r['req']}/cancel", {}),
        ("POST", f"/patient/grants/{r['grant']}/revoke", {}),
    ]


def snapshot(world):
    """Everything a refused call must leave as it was."""
    with world.app.app_context():
        from models.storage.db import get_db
        db = get_db()
        return (
            sorted((d["record_id"], d["version"], d["status"], d.get("rx_status"))
                   for d in db.records.find({})),
            sorted((d["request_id"], d["state"]) for d in db.access_requests.find({})),
            sorted((d["grant_id"], d["state"]) for d in db.grants.find({})),
            db.record_reads.count_documents({}), db.ledger_blocks.count_documents({}),
        )


SECRETS = [SECRET["note"], SECRET["prescription"], SECRET["patient_provided"], "Hijacked"]


@pytest.mark.parametrize("actor", ACTORS)
def test_no_role_reaches_another_patients_resources(world, resources, client, auth, actor):
    account = getattr(world, actor)
    assert auth.login(account["username"]).status_code == 302
    before = snapshot(world)
    for method, url, data in routes(resources):
        kwargs = {}
        if data is not None:
            kwargs = {"data": data, "content_type": "multipart/form-data"} if "files" in data \
                else {"data": data}
        response = client.open(url, method=method, **kwargs)
        assert response.status_code in (403, 404), (actor, method, url, response.status_code)
        body = response.get_data()
        assert PDF not in body, (actor, url)
        for secret in SECRETS:
            assert secret.encode() not in body, (actor, url, secret)
    assert snapshot(world) == before


def test_a_doctor_of_another_hospital_sees_only_hidden_rows(world, resources, client, auth):
    auth.login(world.doctor["username"])
    page = client.get(f"/doctor/patients/{world.patient['human_id']}")
    assert page.status_code == 200
    assert page.text.count('data-testid="hidden-reason"') == 3
    assert "Hidden: no consent" in page.text
    for secret in SECRETS:
        assert secret not in page.text


def test_the_owners_reach_every_url(world, resources, client, auth):
    """The control: each URL of the matrix works for the person it belongs to."""
    r = resources
    auth.login(world.outsider["username"])
    for url in (f"/doctor/records/{r['note']}/v1", f"/doctor/records/{r['note']}/v1/amend",
                f"/doctor/records/{r['doc']}/v1/files/0"):
        assert client.get(url).status_code == 200, url
    assert client.post(f"/doctor/requests/{r['req']}/cancel").status_code == 302
    auth.logout()
    auth.login(world.patient["username"])
    for url in (f"/patient/records/{r['note']}/v1", f"/patient/records/{r['doc']}/v1/files/0",
                f"/patient/records/{r['doc']}/v1/amend", f"/patient/requests/{r['req']}"):
        assert client.get(url).status_code == 200, url
    assert client.post(f"/patient/grants/{r['grant']}/revoke").status_code == 302
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    world.grant(world.lab["human_id"], scope_kind="types", types=["lab_report"])
    auth.logout()
    auth.login(world.pharmacist["username"])
    assert client.get(f"/staff/records/{r['rx']}/v1").status_code == 200
    assert client.post(f"/staff/prescriptions/{r['rx']}/v1/dispense").status_code == 302
    auth.logout()
    auth.login(world.lab_tech["username"])
    assert client.get(f"/staff/lab/patients/{r['patient']}/reports/new").status_code == 200

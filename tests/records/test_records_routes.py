"""The record pages: a doctor's view of a patient (allowed now, and why the rest is hidden),
amending and marking entered-in-error through the forms, and the patient's own view."""
from datetime import timedelta

from models.consent import workflow as consent
from models.storage.db import get_db
from tests.records.world import SECRET, VALID, upload, utc


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def test_finding_a_patient_by_id(world, client, auth):
    _login(auth, world.doctor)
    found = client.get(f"/doctor/patients?human_id={world.patient['human_id'].lower()}")
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/doctor/patients/{world.patient['human_id']}")
    assert client.get("/doctor/patients?human_id=PAT-999999").status_code == 404
    assert client.get(f"/doctor/patients?human_id={world.doctor['human_id']}").status_code == 404
    assert client.get("/doctor/patients/PAT-999999").status_code == 404


def test_the_patient_page_says_why_each_hidden_record_is_hidden(world, client, auth):
    mine = world.write(world.doctor, "note")
    expired = world.write(world.outsider, "allergy")
    revoked = world.write(world.outsider, "diagnosis")
    outside = world.write(world.outsider, "prescription")
    allowed = world.write(world.outsider, "immunization")
    world.grant(world.doctor["human_id"], scope_kind="types", types=["allergy"], days=1,
                now=utc(2020, 1, 1))
    gone = world.grant(world.doctor["human_id"], scope_kind="types", types=["diagnosis"])
    with world.app.app_context():
        consent.revoke(get_db(), patient=world.patient, grant_id=gone["grant_id"])
    world.grant(world.doctor["human_id"], scope_kind="types", types=["immunization"])
    _login(auth, world.doctor)
    page = client.get(f"/doctor/patients/{world.patient['human_id']}")
    assert page.status_code == 200
    text = page.text
    chunks = text.split('<div class="list-group-item')[1:]

    def row(record):
        found = [chunk for chunk in chunks if f'data-record-id="{record["record_id"]}"' in chunk]
        assert len(found) == 1
        return found[0]

    assert 'data-testid="record-row"' in row(mine) and "because you wrote it" in row(mine)
    assert "Hidden: expired" in row(expired)
    assert "Hidden: revoked" in row(revoked)
    assert "Hidden: not in scope" in row(outside)
    assert 'data-testid="open-record"' in row(allowed)
    for secret in (SECRET["allergy"], SECRET["diagnosis"], SECRET["prescription"]):
        assert secret not in text
    assert world.count("record_reads") == 0  # the list reads no clinical value


def test_amending_through_the_form_keeps_both_versions(world, client, auth):
    doc = world.write(world.doctor, "general")
    _login(auth, world.doctor)
    form = client.get(f"/doctor/records/{doc['record_id']}/v1/amend")
    assert form.status_code == 200 and 'value="72.5"' in form.text
    bad = client.post(f"/doctor/records/{doc['record_id']}/v1/amend",
                      data=dict(VALID["general"], systolic_mmhg="70", diastolic_mmhg="90"))
    assert bad.status_code == 400 and world.count("records") == 1
    ok = client.post(f"/doctor/records/{doc['record_id']}/v1/amend",
                     data=dict(VALID["general"], weight_kg="80.0"))
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/v2")
    new = client.get(f"/doctor/records/{doc['record_id']}/v2")
    assert "24.7" in new.text and "80.0 kg" in new.text
    old = client.get(f"/doctor/records/{doc['record_id']}/v1")
    assert old.status_code == 200 and 'data-testid="superseded-note"' in old.text
    assert "72.5 kg" in old.text
    assert client.post(f"/doctor/records/{doc['record_id']}/v1/amend",
                       data=VALID["general"]).status_code == 409


def test_marking_entered_in_error_through_the_form(world, client, auth):
    doc = world.write(world.doctor, "allergy")
    _login(auth, world.doctor)
    url = f"/doctor/records/{doc['record_id']}/v1/entered-in-error"
    assert client.post(url, data={"reason": ""}).status_code == 400
    assert client.post(url, data={"reason": "Recorded on the wrong patient"}).status_code == 302
    page = client.get(f"/doctor/records/{doc['record_id']}/v1")
    assert 'data-testid="error-note"' in page.text and "Recorded on the wrong patient" in page.text
    assert 'data-testid="amend-record"' not in page.text
    assert client.post(url, data={"reason": "again"}).status_code == 409


def test_doctors_never_edit_what_the_patient_provided(world, client, auth):
    doc = world.write(world.patient, "patient_provided")
    world.grant(world.doctor["human_id"])
    _login(auth, world.doctor)
    page = client.get(f"/doctor/records/{doc['record_id']}/v1")
    assert page.status_code == 200 and "Provided by the patient" in page.text
    assert 'data-testid="amend-record"' not in page.text
    assert client.get(f"/doctor/records/{doc['record_id']}/v1/amend").status_code == 403
    assert client.post(f"/doctor/records/{doc['record_id']}/v1/amend",
                       data=VALID["patient_provided"]).status_code == 403
    assert client.post(f"/doctor/records/{doc['record_id']}/v1/entered-in-error",
                       data={"reason": "x"}).status_code == 403
    new_document = f"/doctor/patients/{world.patient['human_id']}/records/new/patient_provided"
    assert client.get(new_document).status_code == 404


def test_the_patient_sees_every_own_record_read_only(world, client, auth):
    written = [name for name in VALID if name not in ("patient_provided", "lab_report")]
    for type_name in written:
        world.write(world.doctor, type_name)
    _login(auth, world.patient)
    added = client.post("/patient/documents/new", data={"title": "Scan from abroad",
                                                        "symptoms": "Ticklewhorl headaches"})
    assert added.status_code == 302
    page = client.get("/patient/")
    assert page.text.count('data-testid="record-card"') == len(written) + 1
    for type_name, secret in SECRET.items():
        if type_name != "lab_report":
            assert secret in page.text, type_name
    assert "22.4" in page.text and "Normal weight" in page.text
    assert page.text.count('data-testid="patient-provided-label"') == 1
    assert 'data-testid="amend-record"' not in page.text  # doctors' records: read-only
    assert page.text.count('data-testid="change-document"') == 1  # only her own document
    assert client.post(f"/doctor/patients/{world.patient['human_id']}/records/new/note",
                       data=VALID["note"]).status_code == 403
    assert world.count("records") == len(written) + 1


def test_the_doctor_dashboard_lists_active_access_and_requests(world, client, auth):
    world.grant(world.doctor["human_id"], days=7)
    world.grant(world.doctor["human_id"], days=1, now=utc(2020, 1, 1), patient=world.other_patient)
    world.ask(world.doctor, patient=world.other_patient)
    _login(auth, world.doctor)
    page = client.get("/doctor/")
    assert page.status_code == 200
    assert page.text.count(world.patient["human_id"]) >= 1
    assert 'data-state="pending"' in page.text
    assert (utc(2020, 1, 1) + timedelta(days=1)).strftime("%Y-%m-%d") not in page.text


def test_the_patient_changes_an_own_document_as_a_new_version(world, client, auth):
    doc = world.write(world.patient, "patient_provided", uploads=[upload()])
    base = f"/patient/records/{doc['record_id']}"
    _login(auth, world.patient)
    page = client.get(f"{base}/v1")
    assert 'data-testid="amend-document"' in page.text
    form = client.get(f"{base}/v1/amend")
    assert form.status_code == 200 and 'value="Report from abroad"' in form.text
    blocks = world.count("ledger_blocks")
    bad = client.post(f"{base}/v1/amend", data={"title": "", "symptoms": "x"})
    assert bad.status_code == 400 and "title" in bad.text.lower()
    assert world.count("records") == 1 and world.count("ledger_blocks") == blocks
    ok = client.post(f"{base}/v1/amend", data={"title": "Report from abroad, translated",
                                               "symptoms": "Ticklewhorl headaches, worse at night"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"{base}/v2")
    new = client.get(f"{base}/v2")
    assert "worse at night" in new.text and "scan.pdf" in new.text  # the file carries over
    old = client.get(f"{base}/v1")
    assert 'data-testid="superseded-note"' in old.text and 'data-testid="amend-document"' not in old.text
    assert world.count("ledger_blocks") == blocks + 1
    assert world.find_one("records", {"record_id": doc["record_id"], "version": 2})["author_id"] \
        == world.patient["human_id"]
    assert client.post(f"{base}/v1/amend", data={"title": "again", "symptoms": "x"}).status_code == 409
    assert world.count("records") == 2


def test_a_patient_changes_only_own_documents(world, client, auth):
    by_doctor = world.write(world.doctor, "note")
    theirs = world.write(world.other_patient, "patient_provided", patient=world.other_patient)
    _login(auth, world.patient)
    assert 'data-testid="amend-document"' not in client.get(
        f"/patient/records/{by_doctor['record_id']}/v1").text
    assert client.get(f"/patient/records/{by_doctor['record_id']}/v1/amend").status_code == 403
    assert client.post(f"/patient/records/{by_doctor['record_id']}/v1/amend",
                       data=VALID["patient_provided"]).status_code == 403
    for method in (client.get, client.post):
        response = method(f"/patient/records/{theirs['record_id']}/v1/amend",
                          **({"data": VALID["patient_provided"]} if method is client.post else {}))
        assert response.status_code in (403, 404) and "Ticklewhorl" not in response.text
    assert client.get("/patient/records/PAT-999999-R9/v1/amend").status_code == 404
    assert world.count("records") == 2

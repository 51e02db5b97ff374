"""The FHIR exports through the pages: the patient's whole Bundle, a doctor's export of what
the patient allows them (each record a sealed read), and the refusal with nothing sealed."""
import base64
import json

from models.clinical import pharmacy, records
from models.consent import workflow as consent
from models.core.errors import Forbidden
from models.exchange import fhir_export, fhir_json, fhir_records
from models.storage.db import get_db
from tests.fhir.validation import check_bundle
from tests.records.world import PDF, SECRET, VALID, upload, world  # noqa: F401

EVERY_TYPE = ("general", "diagnosis", "prescription", "lab_report", "imaging", "allergy",
              "immunization", "note", "discharge_summary")


def _resources(bundle):
    return [entry["resource"] for entry in bundle.get("entry", [])]


def _ids(bundle, kind=None):
    return {f"{r['resourceType']}/{r['id']}" for r in _resources(bundle)
            if kind is None or r["resourceType"] == kind}


def _expected(world, docs):
    """The references each record's current version maps to (the mapping's own answer)."""
    with world.app.app_context():
        db = get_db()
        current = [records.versions(db, doc["record_id"], projection=None)[0] for doc in docs]
        return {ref.split("/_history/")[0] for doc in current
                for ref in fhir_records.references(doc, records.data_of(world.key, doc))}


def _download(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/fhir+json"
    assert "attachment" in response.headers["Content-Disposition"]
    return fhir_json.loads(response.get_data(as_text=True))


def _reads(world):
    return world.count("ledger_blocks", {"kind": "record.read"})


def test_the_patients_bundle_holds_every_record_and_validates(world, client, auth):
    written = [world.write(world.doctor, type_name) for type_name in EVERY_TYPE]
    with world.app.app_context():
        amended = records.amend(get_db(), world.key, author=world.doctor,
                                record_id=written[-2]["record_id"], version=1,
                                raw=dict(VALID["note"], title="Second"), max_bytes=10**6)
    written.append(world.write(world.patient, "patient_provided", uploads=[upload(PDF)]))
    world.grant(world.colleague["human_id"])
    world.grant(world.pharmacy["human_id"], scope_kind=consent.TYPES, types=["prescription"])
    with world.app.app_context():
        pharmacy.dispense(get_db(), pharmacist=world.pharmacist,
                          record_id=written[2]["record_id"], version=1)
    elsewhere = world.write(world.doctor, "allergy", patient=world.other_patient)
    auth.login(world.colleague["username"])
    client.get(f"/doctor/records/{written[0]['record_id']}/v1")  # one read for the log
    auth.logout()

    auth.login(world.patient["username"])
    assert 'data-testid="download-fhir"' in client.get("/patient/").get_data(as_text=True)
    bundle = _download(client, "/patient/export.fhir.json")
    check_bundle(bundle)
    assert bundle["type"] == "collection" and bundle["timestamp"] and bundle["identifier"]
    assert all(entry["fullUrl"].startswith("http://localhost/fhir/r4/") for entry in bundle["entry"])
    assert _expected(world, written) <= _ids(bundle)
    assert f"Patient/{world.patient['human_id']}" in _ids(bundle)
    assert f"Practitioner/{world.doctor['human_id']}" in _ids(bundle)
    # a Provenance per sealed change of a version: ten records, one amended, one dispensed
    assert len(_ids(bundle, "Provenance")) == len(written) + 2 and amended["version"] == 2
    assert len(_ids(bundle, "MedicationDispense")) == 1
    assert f"Practitioner/{world.pharmacist['human_id']}" in _ids(bundle)
    assert len(_ids(bundle, "Consent")) == 2 and len(_ids(bundle, "AuditEvent")) == 1
    assert base64.b64encode(PDF).decode() in fhir_json.dumps(bundle)  # the file itself, embedded
    assert not _expected(world, [elsewhere]) & _ids(bundle)  # another patient's record
    assert len(_ids(bundle)) == len(bundle["entry"])  # each resource once


def test_a_doctor_exports_exactly_what_the_grant_covers_each_a_sealed_read(world, client, auth):
    covered = [world.write(world.doctor, "diagnosis"), world.write(world.doctor, "allergy")]
    hidden = [world.write(world.doctor, "note"), world.write(world.doctor, "prescription"),
              world.write(world.patient, "patient_provided", uploads=[upload(PDF)])]
    world.grant(world.colleague["human_id"], scope_kind=consent.TYPES,
                types=["diagnosis", "allergy"])
    world.grant(world.outsider["human_id"])  # someone else's grant: not in the export
    before = _reads(world)
    auth.login(world.colleague["username"])
    page = client.get(f"/doctor/patients/{world.patient['human_id']}").get_data(as_text=True)
    assert 'data-testid="export-fhir"' in page
    bundle = _download(client, f"/doctor/patients/{world.patient['human_id']}/export.fhir.json")
    check_bundle(bundle)
    clinical = {ref for ref in _ids(bundle)
                if ref.split("/")[0] not in ("Patient", "Practitioner", "Organization",
                                             "Provenance", "Consent")}
    assert clinical == _expected(world, covered)
    assert not clinical & _expected(world, hidden)
    assert len(_ids(bundle, "Provenance")) == len(covered)
    assert len(_ids(bundle, "Consent")) == 1 and not _ids(bundle, "AuditEvent")
    assert _reads(world) - before == len(covered)
    with world.app.app_context():
        logged = list(get_db().record_reads.find({"viewer_id": world.colleague["human_id"]}))
    assert sorted(entry["record_id"] for entry in logged) == sorted(d["record_id"] for d in covered)
    assert {entry["item"] for entry in logged} == {"FHIR export"}
    assert all(entry["sealed_height"] is not None for entry in logged)


def test_a_doctor_without_a_grant_gets_403_and_nothing_is_sealed(world, client, auth):
    world.write(world.doctor, "diagnosis")
    blocks, reads = world.count("ledger_blocks"), world.count("record_reads")
    auth.login(world.outsider["username"])
    page = client.get(f"/doctor/patients/{world.patient['human_id']}").get_data(as_text=True)
    assert 'data-testid="export-fhir"' not in page
    response = client.get(f"/doctor/patients/{world.patient['human_id']}/export.fhir.json")
    assert response.status_code == 403
    assert SECRET["diagnosis"] not in response.get_data(as_text=True)
    assert (world.count("ledger_blocks"), world.count("record_reads")) == (blocks, reads)
    assert client.get("/patient/export.fhir.json").status_code == 403  # not the patient's page


def test_a_one_time_grant_is_not_used_up_by_an_export(world, client, auth):
    world.write(world.doctor, "diagnosis")
    world.grant(world.colleague["human_id"], one_time=True)
    auth.login(world.colleague["username"])
    page = client.get(f"/doctor/patients/{world.patient['human_id']}").get_data(as_text=True)
    assert 'data-testid="open-record"' in page and 'data-testid="export-fhir"' not in page
    response = client.get(f"/doctor/patients/{world.patient['human_id']}/export.fhir.json")
    assert response.status_code == 403
    assert world.count("record_reads") == 0
    assert world.count("grants", {"state": consent.APPROVED}) == 1


def test_a_forged_envelope_fails_the_patients_export_before_any_byte(world, client, auth):
    doc = world.write(world.doctor, "diagnosis")
    with world.app.app_context():  # an insider moves the record to another author
        get_db().records.update_one({"_id": doc["_id"]},
                                    {"$set": {"author_id": world.outsider["human_id"]}})
    auth.login(world.patient["username"])
    response = client.get("/patient/export.fhir.json")
    assert response.status_code == 403
    assert SECRET["diagnosis"] not in response.get_data(as_text=True)


def test_a_pharmacist_gets_the_prescriptions_a_grant_covers_and_no_one_else_a_thing(world):
    rx = world.write(world.doctor, "prescription")
    world.write(world.doctor, "diagnosis")
    world.grant(world.pharmacy["human_id"])  # all types, to the pharmacy
    with world.app.app_context():
        db = get_db()
        found = list(fhir_export.patient_resources(db, world.key, world.pharmacist,
                                                   world.patient["human_id"]))
        for stranger in (world.admin, world.auditor, world.other_patient):
            try:
                fhir_export.patient_resources(db, world.key, stranger, world.patient["human_id"])
            except Forbidden:
                continue
            raise AssertionError(f"{stranger['role']} was not refused")
    clinical = {f"{r['resourceType']}/{r['id']}" for r in found
                if r["resourceType"] in ("MedicationRequest", "Condition")}
    assert clinical == _expected(world, [rx])


def test_the_bundle_is_written_as_the_resources_come_and_an_empty_one_has_no_entry():
    made = []

    def resources():
        for number in range(3):
            made.append(number)
            yield {"resourceType": "Basic", "id": f"b{number}", "code": {"text": "note"}}
    chunks = fhir_export.collection_bundle(resources(), base="https://example.org/fhir/r4")
    head = next(chunks)
    assert made == []  # the Bundle's head is out before the first resource is made
    first = next(chunks)
    assert made == [0] and '"id":"b0"' in first
    bundle = fhir_json.loads(head + first + "".join(chunks))
    check_bundle(bundle)
    assert [entry["fullUrl"] for entry in bundle["entry"]] == [
        f"https://example.org/fhir/r4/Basic/b{number}" for number in range(3)]
    empty = fhir_json.loads("".join(fhir_export.collection_bundle(iter(()))))
    check_bundle(empty)
    assert "entry" not in empty and empty["identifier"]["value"] == f"urn:uuid:{empty['id']}"
    one, again, other = (fhir_export.full_url({"resourceType": "Patient", "id": pid})
                         for pid in ("PAT-000001", "PAT-000001", "PAT-000002"))
    assert one.startswith("urn:uuid:") and one == again != other  # stable, one per resource

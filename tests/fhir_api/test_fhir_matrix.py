"""The FHIR API's authorization matrix: every route, with a personal token of each role, of a
doctor with and without a grant and in an emergency, of the patient and of another patient.
Each cell's status is the pages' access decision; refusals are OperationOutcomes that carry no
clinical data; every record a reader other than the patient gets is a sealed read."""
import pytest

from models.clinical import audit_trail
from models.consent import emergency
from models.consent import workflow as consent
from models.exchange import fhir_json, fhir_search
from models.people import api_tokens, users
from models.storage.db import get_db
from tests.fhir.validation import check_bundle, check_resource
from tests.conftest import PASSWORD
from tests.records.world import SECRET

WRITTEN = ("general", "diagnosis", "prescription", "lab_report", "imaging", "allergy",
           "immunization", "note")
ROUTES = ("metadata", "Patient", "everything", *fhir_search.SEARCHABLE, "AuditEvent",
          "Condition/<id>")


def url(route, patient_id, diagnosis_id=None):
    if route == "Condition/<id>":
        return f"/fhir/r4/Condition/{diagnosis_id}"
    if route == "metadata":
        return "/fhir/r4/metadata"
    if route == "Patient":
        return f"/fhir/r4/Patient/{patient_id}"
    if route == "everything":
        return f"/fhir/r4/Patient/{patient_id}/$everything"
    return f"/fhir/r4/{route}?patient={patient_id}"


ALL = {route: 200 for route in ROUTES}
NOTHING = dict({route: 403 for route in ROUTES}, metadata=200)
READER = dict(ALL, AuditEvent=403)  # the read log is the patient's alone
PRESCRIPTIONS_ONLY = dict(READER, **{"Condition/<id>": 403})
EXPECTED = {
    "admin": NOTHING, "auditor": NOTHING, "front_desk": NOTHING, "researcher": NOTHING,
    "manager without grant": NOTHING, "manager of a granted pharmacy": PRESCRIPTIONS_ONLY,
    "doctor who wrote the records": READER, "doctor with a grant": READER,
    "doctor without a grant": NOTHING, "doctor in an emergency": READER,
    "pharmacist with a grant": PRESCRIPTIONS_ONLY,
    "lab tech without a grant": NOTHING, "the patient": ALL, "another patient": NOTHING,
}
# What each allowed reader's searches return: the record types they may read.
READS = {"doctor who wrote the records": set(WRITTEN), "doctor with a grant": set(WRITTEN) |
         {"patient_provided"}, "the patient": set(WRITTEN) | {"patient_provided"},
         "doctor in an emergency": set(WRITTEN) | {"patient_provided"},
         "pharmacist with a grant": {"prescription"},
         "manager of a granted pharmacy": {"prescription"}}


@pytest.fixture
def readers(world, make_account):
    """The world's patient with a record of every type, a grant to a colleague and one to
    the pharmacy (prescriptions), and a token for each reader."""
    world.diagnosis_id = None
    for type_name in WRITTEN:
        written = world.write(world.doctor, type_name)
        if type_name == "diagnosis":
            world.diagnosis_id = written["record_id"]
    world.write(world.patient, "patient_provided")
    world.grant(world.colleague["human_id"])
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    rescuer = make_account(users.DOCTOR, "rescuer", org_id=world.hospital_b["human_id"])
    with world.app.app_context():
        emergency.open_emergency(get_db(), doctor=rescuer, patient_id=world.patient["human_id"],
                                 password=PASSWORD, reason="Unconscious on arrival, no history",
                                 minutes=60)
    people = {
        "admin": world.admin, "auditor": world.auditor,
        "front_desk": make_account(users.FRONT_DESK, org_id=world.hospital_a["human_id"]),
        "researcher": make_account(users.RESEARCHER, org_id=world.hospital_a["human_id"]),
        "manager without grant": world.manager_b, "manager of a granted pharmacy": world.manager,
        "doctor who wrote the records": world.doctor, "doctor with a grant": world.colleague,
        "doctor without a grant": world.outsider, "doctor in an emergency": rescuer,
        "pharmacist with a grant": world.pharmacist,
        "lab tech without a grant": world.lab_tech, "the patient": world.patient,
        "another patient": world.other_patient,
    }
    with world.app.app_context():
        db = get_db()
        return {name: (account, api_tokens.create(db, account, f"{name} script")[1])
                for name, account in people.items()}


def assert_no_clinical_data(response):
    text = response.get_data(as_text=True)
    assert response.get_json()["resourceType"] == "OperationOutcome"
    for secret in SECRET.values():
        assert secret not in text
    assert "Pat Patient" not in text


def test_every_route_answers_each_reader_as_the_pages_decide(world, readers):
    client = world.app.test_client()
    patient_id = world.patient["human_id"]
    answers = {}
    for name, (account, token) in readers.items():
        for route in ROUTES:
            response = client.get(url(route, patient_id, world.diagnosis_id),
                                  headers={"Authorization": f"Bearer {token}"})
            answers[(name, route)] = response.status_code
            assert response.mimetype == "application/fhir+json", (name, route)
            if response.status_code != 200:
                assert_no_clinical_data(response)
            elif route in fhir_search.SEARCHABLE:
                _check_search(fhir_json.loads(response.data), route, READS[name])
            elif route == "Condition/<id>":
                check_resource(fhir_json.loads(response.data))
            elif route == "everything":
                _check_secrets(response.get_data(as_text=True), READS[name])
    assert answers == {(name, route): EXPECTED[name][route] for name in readers
                       for route in ROUTES}


def _check_search(bundle, resource_type, readable_types):
    """Only resources of the searched type, only from records the reader may read."""
    check_bundle(bundle)
    assert bundle["type"] == "searchset"
    entries = [entry["resource"] for entry in bundle["entry"]]
    assert {res["resourceType"] for res in entries} <= {resource_type}
    _check_secrets(str(entries), readable_types)


def _check_secrets(text, readable_types):
    """No value of a record type the reader may not read (the vitals' weight is a number
    that could occur elsewhere: left out)."""
    for type_name, secret in SECRET.items():
        if type_name not in readable_types and type_name != "general":
            assert secret not in text, type_name


def test_each_record_a_reader_gets_is_a_sealed_read_and_the_patient_leaves_none(world, readers):
    client = world.app.test_client()
    patient_id = world.patient["human_id"]
    _, colleague_token = readers["doctor with a grant"]
    _, patient_token = readers["the patient"]
    response = client.get(f"/fhir/r4/Condition?patient={patient_id}",
                          headers={"Authorization": f"Bearer {colleague_token}"})
    [condition] = [entry["resource"] for entry in response.get_json()["entry"]]
    assert SECRET["diagnosis"] in str(condition)
    with world.app.app_context():
        reads = audit_trail.for_patient(get_db(), patient_id)
    assert [(read["viewer_id"], read["record_type"], read["item"]) for read in reads] == \
        [(world.colleague["human_id"], "diagnosis", fhir_search.READ_ITEM)]
    assert reads[0]["sealed_height"] is not None
    client.get(f"/fhir/r4/Condition?patient={patient_id}",
               headers={"Authorization": f"Bearer {patient_token}"})
    log = fhir_json.loads(client.get(f"/fhir/r4/AuditEvent?patient={patient_id}",
                                     headers={"Authorization": f"Bearer {patient_token}"}).data)
    check_bundle(log)
    assert [entry["resource"]["resourceType"] for entry in log["entry"]] == ["AuditEvent"]
    with world.app.app_context():
        assert len(audit_trail.for_patient(get_db(), patient_id)) == 1


def test_a_revoked_grant_closes_the_api_at_once(world, readers):
    client = world.app.test_client()
    _, token = readers["doctor with a grant"]
    search = f"/fhir/r4/Condition?patient={world.patient['human_id']}"
    assert client.get(search, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with world.app.app_context():
        db = get_db()
        grant = db.grants.find_one({"grantee_id": world.colleague["human_id"]})
        consent.revoke(db, patient=world.patient, grant_id=grant["grant_id"])
    refused = client.get(search, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert_no_clinical_data(refused)


def test_a_one_time_grant_is_left_to_the_read_by_id(world, make_account):
    """A search does not use up a one-time grant (its record is left out); the read by id is
    the one deliberate read, after which the reader has no basis left."""
    note = world.write(world.doctor, "note")
    world.grant(world.outsider["human_id"], scope_kind="records", records_text=note["record_id"],
                one_time=True)
    with world.app.app_context():
        token = api_tokens.create(get_db(), world.outsider, "once")[1]
    client, headers = world.app.test_client(), {"Authorization": f"Bearer {token}"}
    search = f"/fhir/r4/DocumentReference?patient={world.patient['human_id']}"
    listed = client.get(search, headers=headers)
    assert listed.status_code == 200 and listed.get_json()["entry"] == []
    read = client.get(f"/fhir/r4/DocumentReference/{note['record_id']}", headers=headers)
    assert read.status_code == 200 and read.get_json()["id"] == note["record_id"]
    again = client.get(f"/fhir/r4/DocumentReference/{note['record_id']}", headers=headers)
    assert again.status_code == 403
    assert_no_clinical_data(again)
    assert client.get(search, headers=headers).status_code == 403

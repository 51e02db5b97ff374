"""The FHIR API's answers: a valid CapabilityStatement, Patient, searchsets with paging and
$everything (each checked three ways by tests/fhir/validation.py), and every error as an
OperationOutcome with its status, never a page, never a 500."""
import pytest

from models.exchange import fhir_json, fhir_search
from models.people import api_tokens, users
from models.storage.db import get_db
from tests.fhir.validation import check_bundle, check_resource
from tests.records.world import VALID

DIAGNOSES = 5


@pytest.fixture
def token(world):
    """The patient's token, after five diagnoses and a vitals record were written."""
    for number in range(DIAGNOSES):
        world.write(world.doctor, "diagnosis", raw=dict(VALID["diagnosis"],
                                                        description=f"Diagnosis {number}"))
    world.write(world.doctor, "general")
    with world.app.app_context():
        return api_tokens.create(get_db(), world.patient, "tests")[1]


def get(client, path, token=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


def body(response):
    return fhir_json.loads(response.data)


def test_the_capability_statement_says_what_is_offered(client):
    response = get(client, "/fhir/r4/metadata")  # no token needed to discover the server
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    statement = body(response)
    check_resource(statement)
    assert statement["fhirVersion"] == "4.0.1" and "json" in statement["format"]
    [rest] = statement["rest"]
    offered = {res["type"]: res for res in rest["resource"]}
    assert set(offered) == {"Patient", "AuditEvent", *fhir_search.SEARCHABLE}
    assert offered["Patient"]["interaction"] == [{"code": "read"}]
    assert offered["Patient"]["operation"][0]["name"] == "everything"
    for name in fhir_search.SEARCHABLE:
        assert [param["name"] for param in offered[name]["searchParam"]] == ["patient"]
        assert offered[name]["interaction"] == [{"code": "read"}, {"code": "search-type"}]
    assert rest["security"]["cors"] is False


def test_the_patient_reads_themself(world, client, token):
    response = get(client, f"/fhir/r4/Patient/{world.patient['human_id']}", token)
    assert response.status_code == 200
    patient = body(response)
    check_resource(patient)
    assert patient["id"] == world.patient["human_id"]


def test_searches_page_with_count_and_next_links(world, client, token):
    patient_id = world.patient["human_id"]
    path = f"/fhir/r4/Condition?patient=Patient/{patient_id}&_count=2"
    seen, pages = [], 0
    while path:
        page = body(get(client, path, token))
        check_bundle(page)
        assert page["type"] == "searchset" and page["total"] == DIAGNOSES
        assert len(page["entry"]) <= 2
        seen.extend(entry["resource"]["id"] for entry in page["entry"])
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        path = following[0].split("http://localhost", 1)[1] if following else None
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == DIAGNOSES
    observations = body(get(client, f"/fhir/r4/Observation?patient={patient_id}", token))
    check_bundle(observations)
    assert "total" not in observations  # vitals: not known without reading every record
    assert {entry["resource"]["resourceType"] for entry in observations["entry"]} == \
        {"Observation"}


def test_a_record_resource_is_read_by_its_id(world, client, token):
    """The id a search gives reads the same resource again (each read decided and sealed);
    an id of another type, of no record, or malformed is a 404."""
    observations = body(get(client, f"/fhir/r4/Observation?patient={world.patient['human_id']}",
                            token))["entry"]
    weight = next(entry["resource"] for entry in observations
                  if entry["resource"]["id"].endswith("-weight"))
    response = get(client, f"/fhir/r4/Observation/{weight['id']}", token)
    assert response.status_code == 200
    again = body(response)
    check_resource(again)
    assert again == weight
    record_id = weight["id"].rsplit("-", 1)[0]
    for path in (f"/fhir/r4/Condition/{record_id}", f"/fhir/r4/Observation/{record_id}-nothing",
                 "/fhir/r4/Observation/PAT-000001-R999", "/fhir/r4/Observation/not-an-id"):
        missing = get(client, path, token)
        assert missing.status_code == 404, path
        assert body(missing)["resourceType"] == "OperationOutcome"


def test_the_patient_pages_through_who_read_their_records(world, client, token):
    """Five sealed reads by a doctor under a grant, read back two a page, newest first."""
    world.grant(world.colleague["human_id"])
    with world.app.app_context():
        doctor_token = api_tokens.create(get_db(), world.colleague, "tests")[1]
    patient_id = world.patient["human_id"]
    assert get(client, f"/fhir/r4/Condition?patient={patient_id}", doctor_token).status_code == 200
    path, events = f"/fhir/r4/AuditEvent?patient={patient_id}&_count=2", []
    while path:
        page = body(get(client, path, token))
        check_bundle(page)
        assert "total" not in page and len(page["entry"]) <= 2
        events.extend(entry["resource"] for entry in page["entry"])
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        path = following[0].split("http://localhost", 1)[1] if following else None
    assert len(events) == DIAGNOSES and len({event["id"] for event in events}) == DIAGNOSES
    assert [event["recorded"] for event in events] == sorted(
        (event["recorded"] for event in events), reverse=True)
    assert get(client, f"/fhir/r4/AuditEvent?patient={patient_id}", doctor_token) \
        .status_code == 403  # the log is the patient's alone


def test_everything_is_a_valid_searchset_streamed(world, client, token):
    response = get(client, f"/fhir/r4/Patient/{world.patient['human_id']}/$everything", token)
    assert response.status_code == 200 and response.is_streamed
    bundle = body(response)
    check_bundle(bundle)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds[0] == "Patient" and kinds.count("Condition") == DIAGNOSES
    assert bundle["total"] == len(kinds)


def test_a_web_session_works_on_the_api_until_it_idles_out(world, app, client, auth):
    auth.login(world.patient["username"])
    path = f"/fhir/r4/Patient/{world.patient['human_id']}"
    response = client.get(path)
    assert response.status_code == 200 and body(response)["resourceType"] == "Patient"
    with client.session_transaction() as session:
        session["last_seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    idle = client.get(path)
    assert idle.status_code == 401 and body(idle)["resourceType"] == "OperationOutcome"
    assert client.get("/patient/").status_code == 302  # signed out of the site as well


ERRORS = [
    ("/fhir/r4/Condition", 400),
    ("/fhir/r4/Condition?patient=DOC-000001", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&_count=0", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&_count=101", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&_count=two", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&_count=%C2%B2", 400),  # a superscript two
    ("/fhir/r4/Condition?patient=PAT-000001&_offset=" + "9" * 5000, 400),
    ("/fhir/r4/Condition?patient=PAT-%C2%B2", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&code=E11.9", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&patient=PAT-000002", 400),
    ("/fhir/r4/Condition?patient=PAT-000001&_offset=-1", 400),
    ("/fhir/r4/AuditEvent?patient=PAT-000001&_offset=2", 400),
    ("/fhir/r4/Patient/PAT-000001/$everything?_since=2020", 400),
    ("/fhir/r4/Patient/PAT-999999", 403),  # another patient's id, whether it exists or not
    ("/fhir/r4/Encounter?patient=PAT-000001", 404),
    ("/fhir/r4/", 404),
    ("/fhir/r4/Condition?patient=PAT-000001&_format=xml", 406),
]


def test_errors_are_operation_outcomes_with_their_status(app, client, make_account):
    patient = make_account(users.PATIENT, "errorpatient")  # PAT-000001
    with app.app_context():
        token = api_tokens.create(get_db(), patient, "tests")[1]
    for path, status in ERRORS:
        response = get(client, path, token)
        assert response.status_code == status, path
        assert response.mimetype == "application/fhir+json", path
        outcome = body(response)
        check_resource(outcome)
        assert outcome["resourceType"] == "OperationOutcome", path


def test_an_unknown_patient_is_a_404_for_a_reader(app, client, make_account):
    doctor = make_account(users.DOCTOR, "errordoctor")
    with app.app_context():
        token = api_tokens.create(get_db(), doctor, "tests")[1]
    for path in ("/fhir/r4/Patient/PAT-999999", "/fhir/r4/Condition?patient=PAT-999999",
                 "/fhir/r4/Patient/PAT-999999/$everything"):
        response = get(client, path, token)
        assert response.status_code == 404, path
        assert body(response)["issue"][0]["code"] == "not-found"


def test_writes_and_other_formats_are_refused_as_operation_outcomes(world, client, token):
    patient_path = f"/fhir/r4/Patient/{world.patient['human_id']}"
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(patient_path, json={"resourceType": "Patient"},
                                           headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
        assert body(response)["resourceType"] == "OperationOutcome"
    options = client.options(patient_path)
    assert options.status_code == 204 and options.headers["Allow"] == "GET, HEAD, OPTIONS"
    refused = get(client, patient_path, token, Accept="text/html")
    assert refused.status_code == 406 and body(refused)["resourceType"] == "OperationOutcome"
    for accept in ("application/fhir+json", "application/json", "*/*",
                   "text/html,application/xhtml+xml,*/*;q=0.8"):
        assert get(client, patient_path, token, Accept=accept).status_code == 200, accept


def test_an_unexpected_failure_is_an_operation_outcome(world, client, token, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(fhir_search, "patient", broken)
    response = get(client, f"/fhir/r4/Patient/{world.patient['human_id']}", token)
    assert response.status_code == 500 and response.mimetype == "application/fhir+json"
    assert "boom" not in response.get_data(as_text=True)

"""A FHIR client this project did not write (`fhirclient`, SMART on FHIR's Python client) reads
the API of a real app process over HTTP: the CapabilityStatement, a patient's Observations
page by page (`_count=2`, following each `next` link), one of them again by its id, and a 403
OperationOutcome for a doctor the patient never allowed."""
import pytest
from fhirclient import client as fhir
from fhirclient.models.observation import Observation
from fhirclient.server import FHIRPermissionDeniedException

from models.clinical import records
from models.people import api_tokens, users
from models.storage.db import get_db
from tests.records.world import VALID

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def _people_and_records(app):
    """A doctor who writes three vitals records for a patient, and a doctor who may not read
    them: (patient, patient's token, stranger's token)."""
    with app.app_context():
        db = get_db()
        make = dict(password=PASSWORD, rounds=4)
        doctor = users.create_user(db, username="fhirdoc", role=users.DOCTOR, name="Fay Doc",
                                   verified=True, **make)
        stranger = users.create_user(db, username="fhirstranger", role=users.DOCTOR,
                                     name="Sam Stranger", verified=True, **make)
        patient = users.create_user(db, username="fhirpatient", role=users.PATIENT,
                                    name="Pia Patient", **make)
        key = app.extensions["medledger"]["data_key"]
        for weight in ("70.5", "71.0", "71.5"):
            records.create(db, key, author=doctor, patient_id=patient["human_id"],
                           type_name="general", raw=dict(VALID["general"], weight_kg=weight),
                           max_bytes=10**6)
        return (patient, api_tokens.create(db, patient, "fhirclient")[1],
                api_tokens.create(db, stranger, "fhirclient")[1])


def _client(base, token):
    smart = fhir.FHIRClient(settings={"app_id": "medledger-tests", "api_base": base})
    smart.server.session.headers["Authorization"] = f"Bearer {token}"
    return smart


def test_fhirclient_reads_the_capability_statement_pages_and_is_refused(live_server):
    patient, token, stranger_token = _people_and_records(live_server.app())
    base = f"{live_server.url}/fhir/r4/"
    smart = _client(base, token)
    statement = smart.server.capabilityStatement
    assert statement.fhirVersion == "4.0.1"
    assert "Observation" in {res.type for res in statement.rest[0].resource}

    search = Observation.where(struct={"patient": patient["human_id"], "_count": "2"})
    pages = list(search.perform_iter(smart.server))
    assert len(pages) == 2  # three records, two a page: the client followed `next`
    observations = [entry.resource for page in pages for entry in page.entry]
    assert all(isinstance(res, Observation) for res in observations)
    assert len({res.id for res in observations}) == len(observations)
    weights = sorted(str(res.valueQuantity.value) for res in observations
                     if res.code.coding[0].code == "29463-7")
    assert weights == ["70.5", "71.0", "71.5"]
    first = observations[0]
    assert Observation.read(first.id, smart.server).as_json() == first.as_json()  # by its id

    refused = _client(base, stranger_token)
    with pytest.raises(FHIRPermissionDeniedException) as caught:
        list(Observation.where(struct={"patient": patient["human_id"]})
             .perform_iter(refused.server))
    assert caught.value.response.status_code == 403
    outcome = caught.value.response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "70.5" not in caught.value.response.text

"""The patient's International Patient Summary shaped document: Composition first, the three
sections IPS requires, every reference resolved inside the Bundle, valid three ways."""
import json
from decimal import Decimal

from models.clinical import records
from models.storage.db import get_db
from tests.fhir.validation import check_bundle

URL = "/patient/summary.ips.json"
ALLERGIES, PROBLEMS, MEDICATIONS = "48765-2", "11450-4", "10160-0"


def _summary(client, username):
    client.post("/login", data={"username": username, "password": "correct horse battery"})
    response = client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    return json.loads(response.data, parse_float=Decimal)


def _sections(bundle):
    composition = bundle["entry"][0]["resource"]
    return {section["code"]["coding"][0]["code"]: section for section in composition["section"]}


def test_the_summary_is_a_document_with_the_three_sections_and_resolves(world, client):
    world.write(world.doctor, "allergy")
    world.write(world.doctor, "diagnosis")
    world.write(world.doctor, "prescription")
    wrong = world.write(world.doctor, "diagnosis", raw={
        "description": "Mistaken entry", "clinical_status": "active"})
    world.write(world.doctor, "general")
    with world.app.app_context():
        records.mark_entered_in_error(get_db(), user=world.doctor, record_id=wrong["record_id"],
                                      version=1, reason="wrong patient")
    bundle = _summary(client, "patient")
    check_bundle(bundle)
    assert bundle["type"] == "document" and bundle["identifier"] and bundle["timestamp"]
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    sections = _sections(bundle)
    assert set(sections) == {ALLERGIES, PROBLEMS, MEDICATIONS}
    by_full_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    base = bundle["entry"][0]["fullUrl"].rsplit("/Composition/", 1)[0]
    kinds = {}
    for code, section in sections.items():
        assert "emptyReason" not in section
        kinds[code] = [by_full_url[f"{base}/{ref['reference']}"]["resourceType"]
                       for ref in section["entry"]]
    assert kinds == {ALLERGIES: ["AllergyIntolerance"], PROBLEMS: ["Condition"],
                     MEDICATIONS: ["MedicationRequest"]}  # the entered-in-error one left out
    assert "Penicillanthrax" in sections[ALLERGIES]["text"]["div"]
    for entry in bundle["entry"]:
        for key in ("subject", "patient", "recorder", "requester"):
            reference = entry["resource"].get(key)
            if isinstance(reference, dict):
                assert f"{base}/{reference['reference']}" in by_full_url, reference
    assert "Observation" not in {entry["resource"]["resourceType"] for entry in bundle["entry"]}


def test_an_empty_section_says_so(world, client):
    bundle = _summary(client, "otherpatient")
    check_bundle(bundle)
    for section in _sections(bundle).values():
        assert "entry" not in section and section["emptyReason"]["coding"][0]["code"]
        assert "No " in section["text"]["div"]


def test_only_the_patient_downloads_their_summary(world, client):
    client.post("/login", data={"username": "doctor", "password": "correct horse battery"})
    assert client.get(URL).status_code == 403


def test_the_dashboard_links_to_the_summary(world, client):
    client.post("/login", data={"username": "patient", "password": "correct horse battery"})
    assert f'href="{URL}"' in client.get("/patient/").text

"""The round trip of issue 13: a patient's FHIR export, imported by another patient as their
own documents, exported again: every clinical value is unchanged, and both Bundles pass the
three-way check (fhir.resources R4B, the official R4 schema, the vital-signs rules)."""
import base64
import io
import json
from decimal import Decimal

from models.clinical import records
from models.exchange import fhir_import_rules
from models.storage.db import get_db
from tests.fhir import history
from tests.fhir.validation import check_bundle

EXPORT = "/patient/export.fhir.json"


def _resources(bundle):
    return [entry["resource"] for entry in bundle["entry"]]


def _clinical(bundle):
    """{(type, id): resource} of the entries the import makes into records."""
    return {(res["resourceType"], res["id"]): res for res in _resources(bundle)
            if res["resourceType"] not in fhir_import_rules.NOT_CLINICAL}


def _exported(client, username):
    client.post("/login", data={"username": username, "password": "correct horse battery"})
    response = client.get(EXPORT)
    client.post("/logout")
    assert response.status_code == 200
    return response.data, json.loads(response.data, parse_float=Decimal)


def _imported_back(bundle):
    """{(type, id): resource} of the FHIR JSON files the second export embeds in its
    DocumentReferences: the resources the import kept."""
    found = {}
    for resource in _resources(bundle):
        if resource["resourceType"] != "DocumentReference":
            continue
        for content in resource["content"]:
            attachment = content["attachment"]
            if attachment.get("contentType") == "application/fhir+json":
                kept = json.loads(base64.b64decode(attachment["data"]), parse_float=Decimal)
                found[(kept["resourceType"], kept["id"])] = kept
    return found


def _values(resource):
    """The clinical values a reader compares: codes with their systems, quantities with their
    units, components, statuses, dates, texts (everything but the exporting system's meta)."""
    return {name: value for name, value in resource.items() if name != "meta"}


def _quantities(resources):
    """(LOINC code, value, UCUM code) of every Observation's value and component."""
    found = set()
    for res in resources:
        if res["resourceType"] != "Observation":
            continue
        for part in [res] + res.get("component", []):
            quantity = part.get("valueQuantity")
            if quantity:
                codes = tuple(coding["code"] for coding in part["code"]["coding"])
                found.add((codes, str(quantity["value"]), quantity.get("code")))
    return found


def test_export_import_export_keeps_every_clinical_value(world, client):
    history.build(world)  # every record type; amended, in error, dispensed, cancelled, restricted
    downloaded, first = _exported(client, "patient")
    check_bundle(first)
    clinical = _clinical(first)
    assert {"Observation", "Condition", "MedicationRequest", "MedicationDispense",
            "AllergyIntolerance", "Immunization", "DiagnosticReport", "DocumentReference"} <= {
                kind for kind, _ in clinical}

    client.post("/login", data={"username": "otherpatient", "password": "correct horse battery"})
    page = client.post("/patient/fhir-import", data={
        "bundle": (io.BytesIO(downloaded), "first.json")},  # the file as downloaded
        content_type="multipart/form-data")
    client.post("/logout")
    assert page.status_code == 200
    assert page.text.count('data-outcome="imported"') == len(clinical)
    assert "about another person (Pat Patient, Patient/" in page.text
    with world.app.app_context():
        docs = records.for_patient(get_db(), world.other_patient["human_id"])
    assert len(docs) == len(clinical)
    assert {doc["type"] for doc in docs} == {"patient_provided"}
    restricted = {doc["attachments"][0]["name"] for doc in docs
                  if doc["sensitivity"] == records.RESTRICTED}
    assert restricted == {f"Immunization-{resource_id}.json" for kind, resource_id in clinical
                          if kind == "Immunization"}  # labelled R: the copy stays restricted

    _, second = _exported(client, "otherpatient")
    check_bundle(second)
    kept = _imported_back(second)
    assert set(kept) == set(clinical)
    for key, resource in clinical.items():
        assert _values(kept[key]) == _values(resource), key
    vitals = _quantities(clinical.values())
    assert (("29463-7",), "80.0", "kg") in vitals and (("8480-6",), "131", "mm[Hg]") in vitals
    assert _quantities(kept.values()) == vitals

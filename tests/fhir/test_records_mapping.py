"""Every record type mapped to FHIR R4: each resource passes the three-way check, and the codes,
units and values are the ones entered (docs/fhir.md is the table these tests hold to)."""
import base64
import hashlib
from decimal import Decimal

import pytest

from models.clinical import records
from models.core import record_types as types
from models.core.clock import ts
from models.exchange import fhir_codes as codes
from models.exchange import fhir_json, fhir_records
from models.storage.db import get_db
from tests.fhir import history as record_history
from tests.fhir.validation import check_bundle, check_resource
from tests.records.world import DICOM, PDF, PNG

UCUM, LOINC = codes.UCUM, codes.LOINC


@pytest.fixture
def history(world):
    return record_history.build(world)


def by_id(resources):
    return {resource["id"]: resource for resource in resources}


def loinc(resource, key="code"):
    return [c["code"] for c in resource[key].get("coding", []) if c["system"] == LOINC]


def quantity(resource):
    q = resource["valueQuantity"]
    return q["value"], q["system"], q["code"]


def test_every_version_of_every_type_maps_to_valid_resources(history):
    """One record of each type, every version (amended, in error, dispensed, cancelled):
    each resource passes the three-way check, the types are the ones RESOURCE_TYPES
    announces, ids are unique per version, and all of them together form a valid Bundle."""
    entries, seen_types = [], set()
    for name, doc, data in history.every_version():
        resources = fhir_records.resources_for_version(doc, data, files=history.files)
        assert resources, (name, doc["version"])
        for resource in resources:
            check_resource(resource)
            assert resource["resourceType"] in fhir_records.RESOURCE_TYPES[doc["type"]]
            assert resource["meta"]["versionId"] == str(doc["version"])
            assert {"system": codes.RECORD_ID, "value": doc["record_id"]} in resource["identifier"]
            entries.append({"fullUrl": f"urn:uuid:{resource['id']}-v{doc['version']}",
                            "resource": resource})
        seen_types.add(doc["type"])
        assert fhir_records.references(doc, data) == fhir_records.refs(resources)
        if doc["type"] != types.GENERAL:  # known from the envelope alone
            assert fhir_records.references(doc) == fhir_records.refs(resources)
    assert seen_types == set(types.TYPES)
    assert len({entry["fullUrl"] for entry in entries}) == len(entries)
    check_bundle({"resourceType": "Bundle", "type": "collection", "entry": entries})


def test_vitals_are_vital_sign_observations_with_loinc_and_ucum(history):
    doc, data = history.version(types.GENERAL, 1)
    found = by_id(fhir_records.resources_for_version(doc, data))
    rid = doc["record_id"]
    expected = {  # id suffix -> (LOINC, value, UCUM code, profile)
        "weight": ("29463-7", Decimal("72.5"), "kg", "bodyweight"),
        "height": ("8302-2", Decimal("180.0"), "cm", "bodyheight"),
        "bmi": ("39156-5", Decimal("22.4"), "kg/m2", "bmi"),
        "heart-rate": ("8867-4", 67, "/min", "heartrate"),
        "temperature": ("8310-5", Decimal("36.8"), "Cel", "bodytemp"),
        "spo2": ("2708-6", 97, "%", "oxygensat"),
    }
    assert set(found) == {f"{rid}-{suffix}" for suffix in expected} | {f"{rid}-bp",
                                                                      f"{rid}-blood-group"}
    for suffix, (code, value, unit, profile) in expected.items():
        resource = found[f"{rid}-{suffix}"]
        assert loinc(resource) == [code]
        assert quantity(resource) == (value, UCUM, unit)
        assert type(resource["valueQuantity"]["value"]) is type(value)  # never a float
        assert resource["meta"]["profile"] == [f"http://hl7.org/fhir/StructureDefinition/{profile}"]
        assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
        assert resource["category"][0]["coding"][0]["system"] == codes.OBSERVATION_CATEGORY
        assert resource["subject"] == {"reference": f"Patient/{doc['patient_id']}"}
        assert resource["effectiveDateTime"] == ts(doc["created_at"])
        assert resource["performer"][0]["reference"] == f"Practitioner/{doc['author_id']}"
        assert resource["status"] == "final"
    weight_text = fhir_json.dumps(found[f"{rid}-weight"])
    assert '"value":72.5,' in weight_text and "72.49" not in weight_text
    assert fhir_json.loads(weight_text)["valueQuantity"]["value"] == Decimal("72.5")
    assert found[f"{rid}-bmi"]["derivedFrom"] == [{"reference": f"Observation/{rid}-weight"},
                                                  {"reference": f"Observation/{rid}-height"}]


def test_blood_pressure_is_a_panel_with_both_components_in_mm_hg(history):
    doc, data = history.version(types.GENERAL, 1)
    panel = by_id(fhir_records.resources_for_version(doc, data))[f"{doc['record_id']}-bp"]
    assert loinc(panel) == ["85354-9"]
    assert not [key for key in panel if key.startswith("value")]
    components = {loinc(c)[0]: c["valueQuantity"] for c in panel["component"]}
    assert components == {
        "8480-6": {"value": 131, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        "8462-4": {"value": 87, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
    }


def test_blood_group_is_a_laboratory_observation_coded_in_snomed(history):
    doc, data = history.version(types.GENERAL, 1)
    group = by_id(fhir_records.resources_for_version(doc, data))[f"{doc['record_id']}-blood-group"]
    assert loinc(group) == ["882-1"]
    assert group["category"][0]["coding"][0]["code"] == "laboratory"
    assert group["valueCodeableConcept"]["coding"] == [{
        "system": codes.SNOMED, "code": "278154007", "display": "Blood group AB Rh(D) negative"}]
    assert "profile" not in group["meta"]


def test_only_the_measurements_taken_become_observations(world):
    doc = world.write(world.doctor, types.GENERAL, raw={"temperature_c": "38,5"})
    with world.app.app_context():
        data = records.data_of(world.key, doc)
    resources = fhir_records.resources_for_version(doc, data)
    assert [r["id"] for r in resources] == [f"{doc['record_id']}-temperature"]
    assert resources[0]["valueQuantity"]["value"] == Decimal("38.5")
    check_resource(resources[0])
    assert fhir_records.references(doc, data) == [
        f"Observation/{doc['record_id']}-temperature/_history/1"]
    with pytest.raises(ValueError):
        fhir_records.references(doc)  # which vitals exist is in the encrypted values


def test_an_amendment_is_the_next_version_of_the_same_resources(history):
    (v1, data1), (v2, data2) = (history.version(types.GENERAL, n) for n in (1, 2))
    first = by_id(fhir_records.resources_for_version(v1, data1))
    second = by_id(fhir_records.resources_for_version(v2, data2))
    assert set(first) == set(second)
    weight = f"{v1['record_id']}-weight"
    assert (first[weight]["status"], first[weight]["meta"]["versionId"]) == ("final", "1")
    assert (second[weight]["status"], second[weight]["meta"]["versionId"]) == ("amended", "2")
    assert second[weight]["valueQuantity"]["value"] == Decimal("80.0")
    note_v1, note_v2 = (history.version(types.NOTE, n) for n in (1, 2))
    old = fhir_records.resources_for_version(*note_v1)[0]
    new = fhir_records.resources_for_version(*note_v2)[0]
    assert (old["status"], old["docStatus"]) == ("superseded", "final")
    assert (new["status"], new["docStatus"]) == ("current", "amended")
    text = base64.b64decode(new["content"][0]["attachment"]["data"]).decode()
    assert text == "Patient reports marbleflux resolved"


def test_entered_in_error_maps_to_entered_in_error(history, world):
    condition = fhir_records.resources_for_version(*history.version(types.DIAGNOSIS))[0]
    assert condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in condition  # con-5
    allergy = fhir_records.resources_for_version(*history.version(types.ALLERGY))[0]
    assert allergy["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in allergy  # ait-2
    doc, data = history.version(types.LAB_REPORT)
    with world.app.app_context():
        doc = records.mark_entered_in_error(get_db(), user=world.doctor,
                                            record_id=doc["record_id"], version=1,
                                            reason="Wrong sample")
    for resource in fhir_records.resources_for_version(doc, data):
        check_resource(resource)
        assert resource["status"] == "entered-in-error"
        assert resource["meta"]["lastUpdated"] == ts(doc["error"]["at"])


def test_diagnosis_is_a_condition_with_its_icd10_code(history):
    doc, data = history.version(types.DIAGNOSIS)
    doc = dict(doc, status=records.FINAL)  # as it was before it was marked in error
    condition = fhir_records.resources_for_version(doc, data)[0]
    check_resource(condition)
    assert condition["code"] == {"text": "Zebrafinch syndrome type two",
                                 "coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                                             "code": "E11.9"}]}
    assert condition["clinicalStatus"]["coding"][0] == {
        "system": codes.CONDITION_CLINICAL, "code": "active", "display": "Active"}
    assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert condition["onsetDateTime"] == "2019-03-04"
    assert condition["recorder"]["reference"] == f"Practitioner/{doc['author_id']}"


def test_prescription_is_a_medication_request_and_its_dispensing(history, world):
    doc, data = history.version(types.PRESCRIPTION)
    request, dispense = fhir_records.resources_for_version(doc, data)
    assert request["status"] == "completed"  # dispensed
    assert request["intent"] == "order"
    assert request["medicationCodeableConcept"] == {"text": "Quorvaxolin 250 mg"}
    dosage = request["dosageInstruction"][0]
    assert dosage["route"]["coding"][0] == {"system": codes.SNOMED, "code": "26643006",
                                            "display": "Oral route"}
    assert dosage["timing"]["code"]["text"] == "twice a day"
    assert dosage["patientInstruction"] == "Take with waterfall"
    supply = request["dispenseRequest"]
    assert supply["quantity"]["value"] == 20
    assert supply["numberOfRepeatsAllowed"] == 1
    assert supply["expectedSupplyDuration"] == {"value": 10, "unit": "days", "system": UCUM,
                                                "code": "d"}
    assert dispense["resourceType"] == "MedicationDispense"
    assert dispense["authorizingPrescription"] == [
        {"reference": f"MedicationRequest/{doc['record_id']}"}]
    assert dispense["performer"][0]["actor"]["reference"] == \
        f"Practitioner/{world.pharmacist['human_id']}"
    assert dispense["whenHandedOver"] == ts(doc["dispense"]["at"])
    cancelled = fhir_records.resources_for_version(*history.version("cancelled_prescription"))
    assert [r["resourceType"] for r in cancelled] == ["MedicationRequest"]
    assert cancelled[0]["status"] == "cancelled"
    assert cancelled[0]["statusReason"] == {"text": "Allergy found"}
    assert dispense["performer"][1]["actor"] == {
        "reference": f"Organization/{world.pharmacy['human_id']}"}
    active = world.write(world.doctor, types.PRESCRIPTION)
    assert fhir_records.resources_for_version(active, dict(data))[0]["status"] == "active"


def test_allergy_and_immunization(history):
    doc, data = history.version(types.ALLERGY)
    allergy = fhir_records.resources_for_version(dict(doc, status=records.FINAL), data)[0]
    check_resource(allergy)
    assert allergy["code"] == {"text": "Penicillanthrax"}
    assert allergy["category"] == ["medication"]
    assert allergy["criticality"] == "high"
    assert allergy["reaction"] == [{"manifestation": [{"text": "Hivesbloom"}],
                                    "severity": "severe"}]
    assert allergy["clinicalStatus"]["coding"][0]["code"] == "active"
    assert allergy["onsetDateTime"] == "2010-05-06"
    doc, data = history.version(types.IMMUNIZATION)
    shot = fhir_records.resources_for_version(doc, data)[0]
    assert shot["status"] == "completed"
    assert shot["vaccineCode"] == {"text": "Tetravaxium"}
    assert shot["occurrenceDateTime"] == "2023-09-10"
    assert shot["lotNumber"] == "LOT-77X"
    assert shot["site"]["coding"][0] == {"system": codes.V3_ACT_SITE, "code": "LA",
                                         "display": "left arm"}
    assert shot["protocolApplied"] == [{"doseNumberPositiveInt": 2}]
    assert shot["meta"]["security"] == [{"system": codes.V3_CONFIDENTIALITY, "code": "R",
                                         "display": "restricted"}]


def test_lab_and_imaging_are_reports_with_observations_and_their_files(history):
    doc, data = history.version(types.LAB_REPORT)
    report, result = fhir_records.resources_for_version(doc, data)
    assert report["category"][0]["coding"][0]["code"] == "LAB"
    assert report["code"] == {"text": "Glymmerase panel"}
    assert report["result"] == [{"reference": f"Observation/{result['id']}"}]
    assert report["conclusion"] == "Within range"
    assert report["effectiveDateTime"] == "2024-01-02"
    assert result["valueString"] == "Glymmerase 41 U/L"
    assert result["category"][0]["coding"][0]["code"] == "laboratory"
    pdf = report["presentedForm"][0]
    assert pdf == {"extension": [{"url": codes.ATTACHMENT_SHA256,
                                  "valueString": hashlib.sha256(PDF).hexdigest()}],
                   "contentType": "application/pdf", "size": len(PDF),
                   "title": "glymmerase.pdf", "creation": ts(doc["created_at"])}
    doc, data = history.version(types.IMAGING)
    report, findings = fhir_records.resources_for_version(doc, data, files=history.files)
    assert report["category"][0]["coding"][0]["code"] == "RAD"
    assert report["category"][1]["coding"][0] == {"system": codes.DICOM, "code": "MR",
                                                  "display": "Magnetic Resonance"}
    assert loinc(report) == ["18748-4"]
    assert findings["valueString"] == "Meniscal fraylet"
    assert findings["bodySite"] == {"text": "Left knee"}
    dicom = report["presentedForm"][0]
    assert base64.b64decode(dicom["data"]) == DICOM
    assert dicom["hash"] == base64.b64encode(hashlib.sha1(DICOM).digest()).decode()
    assert dicom["contentType"] == "application/dicom"


def test_notes_and_documents_are_document_references(history, world):
    for name, code, text in ((types.NOTE, "11506-3", "Patient reports marbleflux resolved"),
                             (types.PATIENT_PROVIDED, "51855-5", "Ticklewhorl headaches")):
        doc, data = history.version(name)
        document = fhir_records.resources_for_version(doc, data, files=history.files)[0]
        assert loinc(document, "type") == [code]
        assert base64.b64decode(document["content"][0]["attachment"]["data"]).decode() == text
    assert document["author"] == [{"reference": f"Patient/{world.patient['human_id']}",
                                   "display": "Pat Patient"}]
    png = document["content"][1]["attachment"]
    assert (png["contentType"], base64.b64decode(png["data"])) == ("image/png", PNG)
    doc, data = history.version(types.DISCHARGE_SUMMARY)
    summary = fhir_records.resources_for_version(doc, data)[0]
    assert loinc(summary, "type") == ["18842-5"]
    assert summary["context"]["period"] == {"start": "2024-03-01", "end": "2024-03-05"}
    assert summary["context"]["related"][0]["identifier"] == {"system": codes.ADMISSION_ID,
                                                              "value": "ADN-000001"}
    text = base64.b64decode(summary["content"][0]["attachment"]["data"]).decode()
    assert "Improved on Brambleclav" in text and "Clinic in two weeks" in text

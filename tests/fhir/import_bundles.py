"""FHIR R4 Bundles for the import tests, as another hospital might send them."""
import copy
import json


def sample(patient_name="Pat Patient", born=None, patient_id="ext-77"):
    """A collection Bundle: one entry of each kind the import describes, a type it does not
    (CarePlan), and people and provenance it reports without importing."""
    subject = {"reference": f"Patient/{patient_id}"}
    given, family = patient_name.split(" ", 1)
    entries = [
        {"resourceType": "Patient", "id": patient_id,
         "name": [{"given": [given], "family": family}], **({"birthDate": born} if born else {})},
        {"resourceType": "Practitioner", "id": "dr-1", "name": [{"text": "Dr Elsewhere"}]},
        {"resourceType": "Observation", "id": "weight-1", "status": "final",
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                   "observation-category", "code": "vital-signs"}]}],
         "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7",
                              "display": "Body weight"}], "text": "Body weight"},
         "subject": subject, "effectiveDateTime": "2024-05-01T09:30:00Z",
         "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org",
                           "code": "kg"}},
        {"resourceType": "Observation", "id": "bp-1", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
         "subject": subject, "effectiveDateTime": "2024-05-01T09:30:00Z",
         "component": [
             {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
              "valueQuantity": {"value": 131, "unit": "mmHg",
                                "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
             {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
              "valueQuantity": {"value": 87, "unit": "mmHg",
                                "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]},
        {"resourceType": "Condition", "id": "cond-1",
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                        "condition-clinical", "code": "active"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}],
                  "text": "Zebrafinch syndrome type two"},
         "subject": subject, "onsetDateTime": "2019-03-04"},
        {"resourceType": "MedicationRequest", "id": "rx-1", "status": "active",
         "intent": "order", "medicationCodeableConcept": {"text": "Quorvaxolin 250 mg"},
         "subject": subject, "dosageInstruction": [{"text": "1 tablet twice a day"}]},
        {"resourceType": "AllergyIntolerance", "id": "alg-1", "patient": subject,
         "code": {"text": "Penicillanthrax"}, "criticality": "high",
         "reaction": [{"manifestation": [{"text": "Hivesbloom"}], "severity": "severe"}]},
        {"resourceType": "Immunization", "id": "imm-1", "status": "completed",
         "vaccineCode": {"text": "Tetravaxium"}, "patient": subject,
         "occurrenceDateTime": "2023-09-10", "lotNumber": "LOT-77X"},
        {"resourceType": "DiagnosticReport", "id": "lab-1", "status": "final",
         "code": {"text": "Glymmerase panel"}, "subject": subject,
         "conclusion": "Glymmerase 41 U/L, within range"},
        {"resourceType": "DocumentReference", "id": "doc-1", "status": "current",
         "subject": subject, "description": "Letter from abroad",
         "content": [{"attachment": {"contentType": "application/pdf", "title": "letter.pdf"}}]},
        {"resourceType": "CarePlan", "id": "plan-1", "status": "active", "intent": "plan",
         "subject": subject, "description": "Walk daily, Snorklewalk programme"},
        {"resourceType": "Provenance", "id": "prov-1", "target": [{"reference": "Observation/weight-1"}],
         "recorded": "2024-05-01T10:00:00Z", "agent": [{"who": {"reference": "Practitioner/dr-1"}}]},
    ]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{entry['resourceType']}-{entry['id']}",
                       "resource": entry} for entry in entries]}


def as_bytes(bundle):
    return json.dumps(bundle, indent=1).encode()


def with_entry(bundle, resource):
    bundle = copy.deepcopy(bundle)
    bundle["entry"].append({"resource": resource})
    return bundle

"""The three-way checker itself: it passes correct resources and names each planted mistake
(a wrong LOINC code, a missing category, a binary float, a bad code, an unknown element, a
broken invariant), whichever of the three checks is the one that sees it."""
import copy
from decimal import Decimal

import pytest

from tests.fhir import validation
from tests.fhir.validation import bundle_problems, check_bundle, check_resource, resource_problems

WEIGHT = {
    "resourceType": "Observation", "id": "PAT-000001-R1-weight",
    "meta": {"versionId": "1", "profile": ["http://hl7.org/fhir/StructureDefinition/bodyweight"]},
    "status": "final",
    "category": [{"coding": [{"system": validation.OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
    "subject": {"reference": "Patient/PAT-000001"},
    "effectiveDateTime": "2024-01-01T10:00:00.000Z",
    "valueQuantity": {"value": Decimal("72.5"), "unit": "kg",
                      "system": "http://unitsofmeasure.org", "code": "kg"},
}
BP = dict(WEIGHT, id="PAT-000001-R1-bp",
          meta={"versionId": "1", "profile": ["http://hl7.org/fhir/StructureDefinition/bp"]},
          code={"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
          component=[{"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                      "valueQuantity": {"value": value, "unit": "mmHg",
                                        "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
                     for code, value in (("8480-6", 131), ("8462-4", 87))])
del BP["valueQuantity"]
CONSENT = {
    "resourceType": "Consent", "id": "GRT-000001", "status": "active",
    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                          "code": "patient-privacy"}]},
    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
    "patient": {"reference": "Patient/PAT-000001"},
    "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                               "code": "OPTIN"}]},
}


def changed(resource, change):
    copied = copy.deepcopy(resource)
    change(copied)
    return copied


def problems_of(resource, change):
    return "\n".join(resource_problems(changed(resource, change)))


def test_correct_resources_pass():
    for resource in (WEIGHT, BP, CONSENT):
        check_resource(resource)


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["code"]["coding"][0].update(code="29463-8"), "needs LOINC 29463-7"),
    (lambda r: r.pop("category"), "category must hold vital-signs"),
    (lambda r: r["valueQuantity"].update(value=72.5), "binary float 72.5"),
    (lambda r: r["valueQuantity"].update(code="[lb_av]"), "UCUM unit must be 'kg'"),
    (lambda r: r["valueQuantity"].update(system="http://example.org/units"), "must be UCUM"),
    (lambda r: r.pop("effectiveDateTime"), "effectiveDateTime or effectivePeriod"),
    (lambda r: r.update(subject={"reference": "Group/1"}), "subject must reference a Patient"),
    (lambda r: r.update(status="done"), "schema: status: 'done' is not one of"),
    (lambda r: r.update(effectiveDateTime="2024-13-01"), "does not match spec regex"),
    (lambda r: r.update(colour="red"), "'colour' was unexpected"),
    (lambda r: r.update(note=[]), "empty value"),
    (lambda r: r.update(dataAbsentReason={"text": "not asked"}), "obs-6"),
    (lambda r: r.update(performer=[{"reference": "Practitioner DOC-1"}]), "is not Type/id"),
    (lambda r: r.update(performer=[{"reference": "#p1"}]), "ref-1"),
], ids=["wrong-loinc", "no-category", "float", "unit", "unit-system", "no-effective",
        "subject", "status-code", "date", "unknown-element", "empty", "obs-6", "reference",
        "ref-1"])
def test_each_planted_mistake_is_named(change, expected):
    assert expected in problems_of(WEIGHT, change)


def test_a_contained_resource_is_checked_as_its_own_type():
    found = problems_of(WEIGHT, lambda r: r.update(contained=[
        {"resourceType": "Patient", "id": "p1", "gender": "dog"}]))
    assert "schema: contained/0/gender: 'dog' is not one of" in found


def test_the_blood_pressure_panel_needs_both_components_in_mm_hg():
    assert "diastolic component (LOINC 8462-4)" in problems_of(
        BP, lambda r: r["component"].pop())
    assert "UCUM unit must be 'mm[Hg]'" in problems_of(
        BP, lambda r: r["component"][0]["valueQuantity"].update(code="mmHg"))
    assert "no value of its own" in problems_of(
        BP, lambda r: r.update(valueQuantity=WEIGHT["valueQuantity"]))


def test_invariants_neither_tool_checks():
    assert "ppc-1" in problems_of(CONSENT, lambda r: r.pop("policyRule"))
    assert "needs a patient" in problems_of(CONSENT, lambda r: r.pop("patient"))
    tho = "http://terminology.hl7.org/CodeSystem/"
    allergy = {"resourceType": "AllergyIntolerance", "id": "A1",
               "patient": {"reference": "Patient/PAT-000001"},
               "verificationStatus": {"coding": [{
                   "system": tho + "allergyintolerance-verification",
                   "code": "entered-in-error"}]},
               "clinicalStatus": {"coding": [{
                   "system": tho + "allergyintolerance-clinical",
                   "code": "active"}]}}
    assert "clinicalStatus must be absent" in "\n".join(resource_problems(allergy))
    attachment = {"resourceType": "DocumentReference", "id": "D1", "status": "current",
                  "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8=",
                                              "size": 6, "hash": "AAAA"}}]}
    found = "\n".join(resource_problems(attachment))
    assert "size 6 but 5 bytes" in found and "not the base64 SHA-1" in found


def test_the_schema_is_hl7s_r4_4_0_1():
    capability = {"resourceType": "CapabilityStatement", "status": "active",
                  "date": "2026-12-01", "kind": "instance", "fhirVersion": "4.0.1",
                  "format": ["json"]}
    assert validation._schema_problems(capability) == []
    assert validation._schema_problems(dict(capability, fhirVersion="4.0.2")) != []
    assert "Patient" in validation.schema()["definitions"]
    assert "Bot" not in validation.schema()["definitions"]  # nothing of Medplum's left


def test_a_bundle_is_checked_entry_by_entry_and_as_a_whole():
    good = {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": "http://medledger.local/fhir/r4/Observation/PAT-000001-R1-weight",
                       "resource": WEIGHT}, {"resource": CONSENT}]}
    check_bundle(good)
    bad = changed(good, lambda b: (b.update(total=2),
                                   b["entry"][1]["resource"].pop("policyRule"),
                                   b["entry"][0].update(fullUrl="urn:x", search={"mode": "match"})))
    found = "\n".join(bundle_problems(bad))
    assert "bdl-1" in found and "bdl-2..4" in found
    assert "entry/1 Consent/GRT-000001: ppc-1" in found
    with pytest.raises(AssertionError, match="ppc-1"):
        check_bundle(bad)
    duplicate = changed(good, lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])))
    assert "bdl-7" in "\n".join(bundle_problems(duplicate))

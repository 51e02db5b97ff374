"""Consent, AuditEvent, Provenance and MedicationDispense made from real documents (written
through the models), each checked three ways (tests/fhir/validation.py) and by value: the
status of every grant state, period and actor; the IHE BALP PatientRead shape; and the block
height and leaf hash of a Provenance equal to those of the receipt the app hands out."""
from datetime import timedelta

import pytest
from ledger.receipt import receipt_block_hash

from models.clinical import audit_trail, pharmacy, reading, receipts, records
from models.consent import emergency
from models.consent import workflow as consent
from models.core.clock import now_ms, ts
from models.core.errors import Conflict
from models.exchange import fhir_codes as codes
from models.exchange import fhir_ledger, fhir_records
from models.sealing.seam import store_for
from models.storage.db import get_db
from tests.fhir.validation import check_resource
from tests.records.world import VALID, world  # noqa: F401


def ledger(resource):
    """{sub-extension: value} of the resource's ledger block extension."""
    [found] = [ext for ext in resource["extension"]
               if ext["url"] == fhir_ledger.LEDGER_BLOCK_EXTENSION]
    return {part["url"]: next(value for key, value in part.items() if key.startswith("value"))
            for part in found["extension"]}


def block_at(app, height):
    return store_for(get_db(app)).get_block(height)


def grant_of(world, grant_id):
    return world.find_one("grants", {"grant_id": grant_id})


def as_consent(world, grant_id, now=None):
    resource = fhir_ledger.consent_resource(grant_of(world, grant_id), now)
    check_resource(resource)
    return resource


# Consent ----------------------------------------------------------------------------------

def test_a_grant_of_chosen_types_is_an_active_consent_with_its_period_and_actor(world):
    grant = world.grant(world.colleague["human_id"], "types", types=["diagnosis", "general"],
                        days=30)
    resource = as_consent(world, grant["grant_id"])
    assert resource["status"] == "active"
    assert resource["patient"] == {"reference": f"Patient/{world.patient['human_id']}"}
    assert resource["policyRule"]["coding"][0]["code"] == "OPTIN"
    assert resource["category"][0]["coding"][0]["code"] == "59284-0"
    assert resource["scope"]["coding"][0]["code"] == "patient-privacy"
    provision = resource["provision"]
    assert provision["type"] == "permit"
    period = (grant["valid_from"], grant["valid_from"] + timedelta(days=30))
    assert provision["period"] == {"start": ts(period[0]),
                                   "end": ts(period[1])}
    [actor] = provision["actor"]
    assert actor["reference"]["reference"] == f"Practitioner/{world.colleague['human_id']}"
    assert actor["role"]["coding"][0]["code"] == "IRCP"
    assert [c["code"] for c in provision["class"]] == ["diagnosis", "general"]
    assert {c["system"] for c in provision["class"]} == {fhir_ledger.RECORD_TYPE_SYSTEM}
    assert "data" not in provision
    assert provision["purpose"][0]["code"] == "TREAT"
    assert ledger(resource) == {"height": grant_of(world, grant["grant_id"])["sealed_height"],
                                "kind": consent.GRANTED_KIND}
    assert block_at(world.app, ledger(resource)["height"])["subject"] == {
        "grant": grant["grant_id"]}


def test_named_records_are_provision_data_and_all_types_restrict_nothing(world):
    record = world.write(world.doctor, "diagnosis")
    named = world.grant(world.pharmacy["human_id"], "records", records_text=record["record_id"])
    everything = world.grant(world.outsider["human_id"])
    provision = as_consent(world, named["grant_id"])["provision"]
    assert provision["data"] == [{"meaning": "instance", "reference": {"identifier": {
        "system": codes.RECORD_ID, "value": record["record_id"]}}}]
    assert provision["actor"][0]["reference"]["reference"] == \
        f"Organization/{world.pharmacy['human_id']}"
    whole = as_consent(world, everything["grant_id"])["provision"]
    assert "class" not in whole and "data" not in whole


def test_each_grant_state_maps_to_its_consent_status(world):
    record = world.write(world.doctor, "general")
    active = world.grant(world.outsider["human_id"])
    revoked = world.grant(world.pharmacy["human_id"])
    with world.app.app_context():
        consent.revoke(get_db(), patient=world.patient, grant_id=revoked["grant_id"])
    lapsed = world.grant(world.lab["human_id"], days=1, now=now_ms() - timedelta(days=2))
    once = world.grant(world.colleague["human_id"], one_time=True)
    with world.app.app_context():  # the colleague's only grant: used up by this read
        reading.read_version(get_db(), world.colleague, record["record_id"], 1)
    request = world.ask(world.manager_b, days=7)
    approved = world.approve(request["request_id"])
    grants = {"active": active, "revoked": revoked, "lapsed": lapsed, "once": once,
              "approved": approved}
    states = {name: grant_of(world, grant["grant_id"])["state"] for name, grant in grants.items()}
    assert states == {"active": "approved", "revoked": "revoked", "lapsed": "approved",
                      "once": "used", "approved": "approved"}  # nobody noticed the lapse yet
    statuses = {name: as_consent(world, grant["grant_id"])["status"]
                for name, grant in grants.items()}
    assert statuses == {"active": "active", "revoked": "inactive", "lapsed": "inactive",
                        "once": "inactive", "approved": "active"}
    ended = ledger(as_consent(world, revoked["grant_id"]))  # the block that ended it
    assert ended == {"height": grant_of(world, revoked["grant_id"])["seals"]["revoked"]["height"],
                     "kind": consent.REVOKED_KIND}
    assert block_at(world.app, ended["height"])["kind"] == consent.REVOKED_KIND
    assert ledger(as_consent(world, once["grant_id"]))["kind"] == consent.USED_KIND
    approval = as_consent(world, approved["grant_id"])
    assert ledger(approval)["kind"] == consent.APPROVED_KIND
    assert approval["provision"]["actor"][0]["reference"]["reference"] == \
        f"Organization/{world.hospital_b['human_id']}"
    with world.app.app_context():
        expired = consent.notice_expiry(get_db(), grant_of(world, lapsed["grant_id"]), now_ms())
    assert expired["state"] == "expired"
    lapse = as_consent(world, lapsed["grant_id"])
    assert lapse["status"] == "inactive"
    assert ledger(lapse)["kind"] == consent.EXPIRED_KIND


def test_a_one_time_grant_is_noted_and_names_the_record_it_was_used_for(world):
    record = world.write(world.doctor, "general")
    once = world.grant(world.colleague["human_id"], one_time=True)
    resource = as_consent(world, once["grant_id"])
    assert resource["status"] == "active"
    assert {"url": fhir_ledger.ONE_TIME_EXTENSION, "valueBoolean": True} in resource["extension"]
    with world.app.app_context():
        reading.read_version(get_db(), world.colleague, record["record_id"], 1)
    used = as_consent(world, once["grant_id"])
    assert grant_of(world, once["grant_id"])["state"] == "used"
    assert used["status"] == "inactive"
    assert {"url": fhir_ledger.USED_FOR_EXTENSION, "valueIdentifier": {
        "system": codes.RECORD_ID, "value": record["record_id"]}} in used["extension"]


def test_a_grant_still_waiting_for_its_block_is_only_proposed(world):
    grant = grant_of(world, world.grant(world.colleague["human_id"])["grant_id"])
    waiting = dict(grant, pending_seals=[{"kind": consent.GRANTED_KIND, "at": now_ms()}],
                   sealed_height=None, seals={"granted": {"salts": {}, "height": None}})
    resource = fhir_ledger.consent_resource(waiting)
    check_resource(resource)
    assert resource["status"] == "proposed"
    assert not [ext for ext in resource["extension"]
                if ext["url"] == fhir_ledger.LEDGER_BLOCK_EXTENSION]


# AuditEvent -------------------------------------------------------------------------------

def _reads(world):
    return list(get_db(world.app).record_reads.find({}))


def test_a_sealed_read_is_a_balp_patient_read_audit_event(world):
    record = world.write(world.doctor, "diagnosis")
    grant = world.grant(world.colleague["human_id"])
    with world.app.app_context():
        reading.read_version(get_db(), world.colleague, record["record_id"], 1)
    [entry] = _reads(world)
    resource = fhir_ledger.audit_event_resource(entry)
    check_resource(resource)
    assert "meta" not in resource  # the BALP shape, without claiming its profile
    assert (resource["type"]["code"], resource["subtype"][0]["code"], resource["action"],
            resource["outcome"]) == ("rest", "read", "R", "0")
    assert resource["recorded"] == ts(entry["at"])
    reader = resource["agent"][0]
    assert reader["requestor"] is True
    assert reader["who"]["reference"] == f"Practitioner/{world.colleague['human_id']}"
    assert reader["role"][0]["coding"][0]["code"] == "doctor"
    assert reader["policy"] == [f"Consent/{grant['grant_id']}"]
    assert [a["requestor"] for a in resource["agent"]] == [True, False, False]
    server = resource["agent"][1]
    assert (server["type"]["coding"][0]["code"], server["who"]["display"]) == \
        ("110153", "MedLedger")
    assert resource["agent"][2]["who"]["reference"] == \
        f"Organization/{world.hospital_a['human_id']}"
    assert resource["source"]["observer"]["display"] == "MedLedger"
    patient, target = resource["entity"]
    assert (patient["role"]["code"], patient["what"]["reference"]) == \
        ("1", f"Patient/{world.patient['human_id']}")
    assert target["role"]["code"] == "4"
    assert target["what"] == {
        "identifier": {"system": codes.RECORD_VERSION, "value": f"{record['record_id']}/1"},
        "display": f"{record['record_id']} v1"}
    assert resource["purposeOfEvent"][0]["coding"][0]["code"] == "grant"
    targets = fhir_records.references(record)
    with_targets = fhir_ledger.audit_event_resource(entry, targets)
    check_resource(with_targets)
    assert [e["what"]["reference"] for e in with_targets["entity"][1:]] == \
        [f"Condition/{record['record_id']}/_history/1"] == targets
    height = ledger(resource)["height"]
    assert height == entry["sealed_height"]
    block = block_at(world.app, height)
    assert (block["kind"], block["subject"]) == (
        audit_trail.READ_KIND, {"record": record["record_id"], "version": 1})
    pending = fhir_ledger.audit_event_resource(dict(entry, sealed_height=None))
    check_resource(pending)
    assert "extension" not in pending


def test_an_emergency_read_says_emergency_treatment_and_names_the_file_read(world):
    record = world.write(world.doctor, "general")
    with world.app.app_context():
        db = get_db()
        case = emergency.open_emergency(
            db, doctor=world.colleague, patient_id=world.patient["human_id"],
            password="correct horse battery", reason="Unconscious on arrival, needs history",
            minutes=60)
        doc, decision = reading.read_version(db, world.colleague, record["record_id"], 1,
                                             item="file scan.pdf")
    [entry] = _reads(world)
    resource = fhir_ledger.audit_event_resource(entry)
    check_resource(resource)
    codes_of = [c["code"] for c in resource["purposeOfEvent"][0]["coding"]]
    assert codes_of == ["emergency", "ETREAT"]
    assert resource["agent"][0]["policy"] == [
        f"{fhir_ledger.EMERGENCY_ID}/{case['emergency_id']}"]
    assert resource["entity"][1]["description"] == "file scan.pdf"


# Provenance -------------------------------------------------------------------------------

def _version(world, record_id, version):
    return world.find_one("records", {"record_id": record_id, "version": version})


def _targets(world, doc):
    return fhir_records.references(doc, records.data_of(world.key, doc))


def _provenances(world, doc):
    with world.app.app_context():
        found = fhir_ledger.provenance_resources(get_db(), doc, _targets(world, doc))
    for resource in found:
        check_resource(resource)
    return found


def test_a_provenance_carries_the_height_and_leaf_hash_the_receipt_shows(world):
    first = world.write(world.doctor, "general")
    with world.app.app_context():
        db = get_db()
        records.amend(db, world.key, author=world.doctor, record_id=first["record_id"],
                      version=1, raw=dict(VALID["general"], weight_kg="73.0"),
                      max_bytes=world.app.config["MAX_ATTACHMENT_BYTES"])
        receipt = receipts.build(db, world.patient, first["record_id"], 2, app=world.app)
    doc = _version(world, first["record_id"], 2)
    [provenance] = _provenances(world, doc)
    evidence = ledger(provenance)
    assert evidence == {"height": receipt["block"]["height"], "kind": "record.amended",
                        "leafHash": receipt_block_hash(receipt)}
    assert provenance["activity"]["coding"][0]["code"] == "UPDATE"
    targets = _targets(world, doc)
    assert len(targets) > 1  # one Observation per measurement
    assert [t["reference"] for t in provenance["target"]] == targets
    assert all(target.endswith("/_history/2") for target in targets)
    assert provenance["entity"] == [{"role": "revision", "what": {
        "identifier": {"system": codes.RECORD_VERSION, "value": f"{first['record_id']}/1"},
        "display": f"{first['record_id']} v1"}}]
    [author] = provenance["agent"]
    assert author["who"]["reference"] == f"Practitioner/{world.doctor['human_id']}"
    assert author["onBehalfOf"]["reference"] == f"Organization/{world.hospital_a['human_id']}"
    assert provenance["recorded"] == ts(doc["created_at"])
    [created] = _provenances(world, _version(world, first["record_id"], 1))
    assert created["activity"]["coding"][0]["code"] == "CREATE" and "entity" not in created
    assert ledger(created)["height"] == first["sealed_height"] != evidence["height"]


def test_a_version_entered_in_error_has_a_second_provenance_for_that_block(world):
    record = world.write(world.patient, "patient_provided")
    with world.app.app_context():
        records.mark_entered_in_error(get_db(), user=world.patient,
                                      record_id=record["record_id"], version=1,
                                      reason="Wrong patient's letter")
    doc = _version(world, record["record_id"], 1)
    created, nullified = _provenances(world, doc)
    assert created["agent"][0]["who"]["reference"] == f"Patient/{world.patient['human_id']}"
    assert nullified["activity"]["coding"][0]["code"] == "NULLIFY"
    assert nullified["id"] == f"{record['record_id']}-v1-error"
    block = block_at(world.app, doc["error"]["sealed_height"])
    assert ledger(nullified) == {"height": block["height"], "kind": records.ERROR_KIND,
                                 "leafHash": block["hash"]}
    assert nullified["recorded"] == ts(doc["error"]["at"])


def test_a_block_of_another_version_makes_no_provenance(world):
    one = _version(world, world.write(world.doctor, "general")["record_id"], 1)
    other = world.write(world.doctor, "general")
    with pytest.raises(Conflict):
        fhir_ledger.provenance_resource(one, _targets(world, one),
                                        block_at(world.app, other["sealed_height"]))
    moved = dict(one, sealed_height=other["sealed_height"])  # a height edited in the database
    assert _provenances(world, moved) == []
    assert len(_provenances(world, one)) == 1


# MedicationDispense -----------------------------------------------------------------------

def test_a_dispensing_is_a_medication_dispense_with_its_own_provenance(world):
    prescription = world.write(world.doctor, "prescription")
    world.grant(world.pharmacy["human_id"], "types", types=["prescription"])
    with world.app.app_context():
        pharmacy.dispense(get_db(), pharmacist=world.pharmacist,
                          record_id=prescription["record_id"], version=1)
    doc = _version(world, prescription["record_id"], 1)
    resources = fhir_records.resources_for_version(doc, records.data_of(world.key, doc))
    [dispense] = [r for r in resources if r["resourceType"] == "MedicationDispense"]
    check_resource(dispense)
    assert dispense["status"] == "completed"
    assert dispense["whenHandedOver"] == ts(doc["dispense"]["at"])
    assert [p["actor"]["reference"] for p in dispense["performer"]] == [
        f"Practitioner/{world.pharmacist['human_id']}",
        f"Organization/{world.pharmacy['human_id']}"]
    written, dispensed = _provenances(world, doc)
    assert [t["reference"] for t in written["target"]] == \
        [f"MedicationRequest/{doc['record_id']}/_history/1"]
    assert [t["reference"] for t in dispensed["target"]] == \
        [f"MedicationDispense/{dispense['id']}/_history/1"]
    assert dispensed["id"] == f"{doc['record_id']}-v1-dispense"
    assert dispensed["activity"]["coding"][0]["code"] == "CREATE"
    assert dispensed["agent"][0]["who"]["reference"] == \
        f"Practitioner/{world.pharmacist['human_id']}"
    assert dispensed["agent"][0]["onBehalfOf"]["reference"] == \
        f"Organization/{world.pharmacy['human_id']}"
    block = block_at(world.app, doc["dispense"]["sealed_height"])
    assert ledger(dispensed) == {"height": block["height"], "kind": pharmacy.DISPENSED_KIND,
                                 "leafHash": block["hash"]}

"""The consent state machine: each transition is one atomic update on the expected state,
sealed on the ledger; a second decision is a Conflict, never a second grant."""
from datetime import timedelta

import pytest

from models.consent import workflow as consent
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.storage.db import get_db
from tests.records.world import utc


def _kinds(world):
    with world.app.app_context():
        return [block["kind"] for block in
                sorted(get_db().ledger_blocks.find({}), key=lambda block: block["height"])]


def test_a_request_is_pending_and_sealed(world):
    req = world.ask(world.doctor, scope_kind=consent.TYPES, types=["allergy", "diagnosis"], days=30,
                    one_time=True)
    stored = world.find_one("access_requests", {"request_id": req["request_id"]})
    assert req["request_id"] == "REQ-000001"
    assert (stored["state"], stored["requester_id"], stored["requester_org"]) == (
        consent.PENDING, world.doctor["human_id"], world.hospital_a["human_id"])
    assert stored["scope"] == {"kind": "types", "types": ["allergy", "diagnosis"]}
    assert (stored["duration_days"], stored["one_time"]) == (30, True)
    assert _kinds(world) == [consent.REQUESTED]
    assert stored["sealed_height"] == 0 and "salts" in stored["seals"]["requested"]


@pytest.mark.parametrize("kwargs,field", [
    ({"scope_kind": "everything"}, "scope"),
    ({"scope_kind": consent.TYPES, "types": []}, "types"),
    ({"scope_kind": consent.TYPES, "types": ["gossip"]}, "types"),
    ({"scope_kind": consent.RECORDS, "records_text": "R12"}, "records"),
    ({"scope_kind": consent.RECORDS, "records_text": "PAT-000001-R99"}, "records"),
    ({"days": 0}, "duration_days"),
    ({"days": 366}, "duration_days"),
])
def test_bad_requests_are_refused_with_the_field(world, kwargs, field):
    with pytest.raises(InvalidInput) as caught:
        world.ask(world.doctor, **kwargs)
    assert field in caught.value.field_errors
    assert world.count("access_requests") == 0 and world.count("ledger_blocks") == 0


def test_named_records_must_be_the_patients_own(world):
    other = world.write(world.doctor, "note", patient=world.other_patient)
    with pytest.raises(InvalidInput):
        world.ask(world.doctor, scope_kind=consent.RECORDS, records_text=other["record_id"])
    mine = world.write(world.doctor, "note")
    req = world.ask(world.colleague, scope_kind=consent.RECORDS, records_text=mine["record_id"].lower())
    assert req["scope"] == {"kind": "records", "records": [mine["record_id"]]}


def test_one_pending_request_per_requester_and_patient(world):
    world.ask(world.doctor)
    with pytest.raises(Conflict):
        world.ask(world.doctor)
    world.ask(world.doctor, patient=world.other_patient)
    assert world.count("access_requests") == 2


def test_a_live_grant_covering_the_ask_refuses_a_second_request(world):
    world.grant(world.doctor["human_id"], scope_kind=consent.TYPES, types=["allergy", "note"])
    with pytest.raises(Conflict, match="GRT-000001.*No new request is needed"):
        world.ask(world.doctor, scope_kind=consent.TYPES, types=["allergy"])
    assert world.count("access_requests") == 0
    # Asking for more than the grant covers is a real new request; so is a colleague's.
    world.ask(world.doctor, scope_kind=consent.TYPES, types=["allergy", "diagnosis"])
    world.ask(world.colleague, scope_kind=consent.TYPES, types=["allergy"])
    assert world.count("access_requests") == 2


def test_an_ended_grant_does_not_stop_a_new_request(world):
    old = world.grant(world.doctor["human_id"], now=utc(2025, 1, 1))
    assert old["valid_until"] < utc(2026, 1, 1)
    world.grant(world.manager["org_id"], patient=world.patient)
    with world.app.app_context():
        consent.revoke(get_db(), patient=world.patient, grant_id="GRT-000002")
    world.ask(world.doctor)
    world.ask(world.manager)
    assert world.count("access_requests") == 2


def test_an_organizations_live_grant_refuses_its_managers_request(world):
    world.grant(world.pharmacy["human_id"], scope_kind=consent.TYPES, types=["prescription"])
    with pytest.raises(Conflict, match="Your organization already holds"):
        world.ask(world.manager, scope_kind=consent.TYPES, types=["prescription"])


def test_only_doctors_and_managers_request(world):
    for account in (world.pharmacist, world.patient, world.admin, world.auditor):
        with pytest.raises(Forbidden):
            world.ask(account)
    req = world.ask(world.manager)
    assert (req["requester_kind"], req["requester_id"]) == ("organization", world.pharmacy["human_id"])


def test_approval_creates_one_grant_and_a_second_decision_conflicts(world):
    req = world.ask(world.doctor, days=7)
    grant = world.approve(req["request_id"], now=utc(2025, 3, 1, 9))
    assert grant["grant_id"] == "GRT-000001"
    assert (grant["grantee_id"], grant["state"], grant["request_id"]) == (
        world.doctor["human_id"], consent.APPROVED, req["request_id"])
    assert grant["valid_until"] - grant["valid_from"] == timedelta(days=7)
    assert world.find_one("access_requests", {})["state"] == consent.APPROVED
    with pytest.raises(Conflict, match="already approved"):
        world.approve(req["request_id"])
    with world.app.app_context():
        with pytest.raises(Conflict):
            consent.reject(get_db(), patient=world.patient, request_id=req["request_id"])
    assert world.count("grants") == 1
    assert _kinds(world) == [consent.REQUESTED, consent.APPROVED_KIND]


def test_only_the_addressed_patient_decides(world):
    req = world.ask(world.doctor)
    with pytest.raises(NotFound):
        world.approve(req["request_id"], patient=world.other_patient)
    with world.app.app_context():
        with pytest.raises(NotFound):
            consent.reject(get_db(), patient=world.other_patient, request_id=req["request_id"])
    assert world.find_one("access_requests", {})["state"] == consent.PENDING


def test_narrowing_on_approval(world):
    note = world.write(world.doctor, "note")
    req = world.ask(world.colleague, scope_kind=consent.TYPES, types=["note", "allergy"], days=30)
    with pytest.raises(InvalidInput) as wider:
        world.approve(req["request_id"], scope={"kind": consent.ALL})
    assert "scope" in wider.value.field_errors
    with pytest.raises(InvalidInput) as longer:
        world.approve(req["request_id"], duration_days=31)
    assert "duration_days" in longer.value.field_errors
    with pytest.raises(InvalidInput):
        world.approve(req["request_id"], scope={"kind": consent.TYPES, "types": ["diagnosis"]})
    assert world.count("grants") == 0 and world.find_one("access_requests", {})["state"] == "pending"
    grant = world.approve(req["request_id"], scope={"kind": consent.RECORDS, "records": [note["record_id"]]},
                          duration_days=1, one_time=True)
    assert grant["scope"] == {"kind": "records", "records": [note["record_id"]]}
    assert grant["valid_until"] - grant["valid_from"] == timedelta(days=1)
    assert grant["one_time"] is True


def test_a_one_time_request_stays_one_time(world):
    req = world.ask(world.doctor, one_time=True)
    assert world.approve(req["request_id"], one_time=False)["one_time"] is True


def test_rejection_with_a_note_and_cancellation(world):
    with world.app.app_context():
        db = get_db()
        rejected = world.ask(world.doctor)
        decided = consent.reject(db, patient=world.patient, request_id=rejected["request_id"],
                                 note="  Not   now ")
        assert (decided["state"], decided["decision_note"]) == (consent.REJECTED, "Not now")
        cancelled = world.ask(world.doctor)
        with pytest.raises(NotFound):
            consent.cancel(db, user=world.colleague, request_id=cancelled["request_id"])
        done = consent.cancel(db, user=world.doctor, request_id=cancelled["request_id"])
        assert done["state"] == "cancelled"
        with pytest.raises(Conflict):
            consent.cancel(db, user=world.doctor, request_id=cancelled["request_id"])
        with pytest.raises(Conflict):
            world.approve(cancelled["request_id"])
    assert world.count("grants") == 0
    assert _kinds(world) == [consent.REQUESTED, consent.REJECTED_KIND, consent.REQUESTED,
                             consent.CANCELLED_KIND]


def test_an_organization_request_is_cancelled_by_its_managers_only(world):
    req = world.ask(world.manager)
    with world.app.app_context():
        with pytest.raises(NotFound):
            consent.cancel(get_db(), user=world.manager_b, request_id=req["request_id"])
        with pytest.raises(NotFound):
            consent.cancel(get_db(), user=world.pharmacist, request_id=req["request_id"])
        done = consent.cancel(get_db(), user=world.manager, request_id=req["request_id"])
        assert done["state"] == "cancelled"


def test_proactive_grants_to_a_doctor_or_an_organization(world):
    to_doctor = world.grant(world.outsider["human_id"].lower())
    to_org = world.grant(world.hospital_b["human_id"], scope_kind=consent.TYPES, types=["allergy"])
    assert (to_doctor["grantee_kind"], to_doctor["grantee_id"], to_doctor["request_id"]) == (
        "doctor", world.outsider["human_id"], None)
    assert (to_org["grantee_kind"], to_org["grantee_name"]) == ("organization", "Riverside Clinic")
    assert _kinds(world) == [consent.GRANTED_KIND, consent.GRANTED_KIND]
    for bad in ("DOC-999999", "ORG-9999", world.patient["human_id"], world.pharmacist["human_id"], ""):
        with pytest.raises(InvalidInput):
            world.grant(bad)
    assert world.count("grants") == 2


def test_revocation_is_once_and_only_by_the_patient(world):
    made = world.grant(world.doctor["human_id"])
    with world.app.app_context():
        db = get_db()
        with pytest.raises(NotFound):
            consent.revoke(db, patient=world.other_patient, grant_id=made["grant_id"])
        revoked = consent.revoke(db, patient=world.patient, grant_id=made["grant_id"])
        assert (revoked["state"], revoked["ended_by"]) == (consent.REVOKED, world.patient["human_id"])
        with pytest.raises(Conflict, match="already revoked"):
            consent.revoke(db, patient=world.patient, grant_id=made["grant_id"])
    assert _kinds(world) == [consent.GRANTED_KIND, consent.REVOKED_KIND]


def test_revoking_a_grant_past_its_end_reports_it_expired(world):
    made = world.grant(world.doctor["human_id"], days=1, now=utc(2020, 1, 1))
    with world.app.app_context():
        with pytest.raises(Conflict, match="already expired"):
            consent.revoke(get_db(), patient=world.patient, grant_id=made["grant_id"])
    assert _kinds(world) == [consent.GRANTED_KIND, consent.EXPIRED_KIND]


def test_listing_notices_expiry_once(world):
    world.grant(world.doctor["human_id"], days=1, now=utc(2020, 1, 1))
    with world.app.app_context():
        first = consent.grants_for_patient(get_db(), world.patient["human_id"])
        second = consent.grants_for_patient(get_db(), world.patient["human_id"])
    assert first[0]["state"] == second[0]["state"] == consent.EXPIRED
    assert _kinds(world).count(consent.EXPIRED_KIND) == 1

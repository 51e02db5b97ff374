"""The access decision's edges that the rule table leaves open (found by mutation testing,
scripts/mutation access): the basis shown and sealed with a read, emergency access loaded
from the database, the lost race for a one-time grant, page listings and envelopes that fail
their authority check, and a laboratory's grant for a whole record type."""
import dataclasses
from datetime import timedelta

import pytest

from models.consent import access, emergency
from models.consent import workflow as consent
from models.storage.db import get_db
from tests.access.test_access_rules import (
    DOCTOR, MANAGER, NOW, PATIENT, decide, emergency as case, grant, record)
from tests.conftest import PASSWORD


def test_the_reasons_are_the_sealed_and_shown_vocabulary():
    """A read seals its basis and the patient's page shows it: changing a word would make old
    blocks and new ones disagree."""
    assert (access.PATIENT_SELF, access.AUTHOR, access.GRANT, access.EMERGENCY) == \
        ("patient", "author", "grant", "emergency")
    assert (access.NO_CONSENT, access.EXPIRED, access.REVOKED, access.NOT_IN_SCOPE,
            access.USED, access.NOT_FOR_ROLE, access.UNAUTHENTIC) == \
        ("no consent", "expired", "revoked", "not in scope", "one-time access already used",
         "not available to your role", "failed its integrity check")


def test_the_basis_of_each_kind_of_read():
    by_grant = decide(DOCTOR, record(), [grant(grant_id="GRT-000007")])
    by_case = decide(DOCTOR, record(), [], [case()])
    by_author = decide(DOCTOR, record(author=DOCTOR["human_id"]))
    assert (by_grant.basis, by_grant.basis_kind, by_grant.basis_id) == \
        ("grant GRT-000007", "grant", "GRT-000007")
    assert (by_case.basis, by_case.basis_kind, by_case.basis_id) == \
        ("emergency EMG-000001", "emergency", "EMG-000001")
    assert (by_author.basis, by_author.basis_kind, by_author.basis_id) == \
        ("author", "author", None)
    assert by_author.grant is None and by_author.emergency is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_author.allowed = False


def test_among_reusable_grants_the_longest_is_the_basis():
    short = grant(grant_id="GRT-000001", days=2)
    long = grant(grant_id="GRT-000002", days=9)
    assert decide(DOCTOR, record(), [short, long]).grant["grant_id"] == "GRT-000002"
    assert decide(DOCTOR, record(), [long, short]).grant["grant_id"] == "GRT-000002"


@pytest.mark.parametrize("cases, allowed", [
    ([case(opened=NOW)], True),  # from its first instant
    ([case(doctor="DOC-000002")], False),  # another doctor's emergency
    ([dict(case(), pending_seals=[{"kind": "emergency.opened"}])], False),  # block not sealed
], ids=["opening instant", "another doctor", "not sealed yet"])
def test_emergency_edges(cases, allowed):
    assert decide(DOCTOR, record(), [], cases).allowed is allowed


def test_a_context_reads_emergencies_only_when_asked_and_defaults_to_none():
    calls = []
    ctx = access.Context(viewer=DOCTOR, patient_id="PAT-000001", now=NOW,
                         load_emergencies=lambda: calls.append(1) or [case()])
    assert access.evaluate(ctx, record()).reason == access.EMERGENCY
    assert access.evaluate(ctx, record()).reason == access.EMERGENCY
    assert calls == [1]  # loaded once, then kept
    bare = access.Context(viewer=DOCTOR, patient_id="PAT-000001", now=NOW)
    assert access.evaluate(bare, record()).reason == access.NO_CONSENT


def test_grantee_ids_name_an_organization_only_for_its_readers():
    assert access.grantee_ids(DOCTOR) == ["DOC-000001", "ORG-0001"]
    assert access.grantee_ids(MANAGER) == ["STF-000003", "ORG-0003"]
    desk = {"human_id": "STF-000009", "role": "front_desk", "org_id": "ORG-0001"}
    assert access.grantee_ids(desk) == ["STF-000009"]
    assert access.grantee_ids(dict(DOCTOR, org_id=None)) == ["DOC-000001"]
    assert access.grantee_ids(PATIENT) == ["PAT-000001"]


# Through the database ----------------------------------------------------------------------

def test_an_emergency_opened_in_the_database_lets_only_its_doctor_read(world):
    rec = world.write(world.colleague, "diagnosis")
    with world.app.app_context():
        db = get_db()
        opened = emergency.open_emergency(db, doctor=world.outsider,
                                          patient_id=world.patient["human_id"],
                                          password=PASSWORD, reason="Unconscious on arrival",
                                          minutes=60)
        assert access.decide(db, world.outsider, rec).basis_id == opened["emergency_id"]
        assert not access.decide(db, world.doctor, rec).allowed
        later = opened["ends_at"] + timedelta(seconds=1)
        assert not access.decide(db, world.outsider, rec, now=later).allowed


def test_a_read_uses_a_one_time_grant_by_default_and_the_loser_of_a_race_is_refused(world):
    rec = world.write(world.colleague, "diagnosis")
    made = world.grant(world.doctor["human_id"], one_time=True)
    with world.app.app_context():
        db = get_db()
        stale = access.load_context(db, world.doctor, rec["patient_id"])  # read before the use
        assert access.decide(db, world.doctor, rec).allowed  # consumes: the default
        assert db.grants.find_one({"grant_id": made["grant_id"]})["state"] == consent.USED
        lost = access.decide(db, world.doctor, rec, ctx=stale)
    assert (lost.allowed, lost.reason) == (False, access.USED)


def test_a_listing_decides_each_version_and_refuses_a_forged_envelope(world):
    mine = world.write(world.doctor, "diagnosis")
    other = world.write(world.colleague, "diagnosis")
    forged = world.write(world.colleague, "allergy")
    world.grant(world.doctor["human_id"], scope_kind=consent.TYPES, types=["allergy"],
                one_time=True)
    with world.app.app_context():
        db = get_db()
        docs = [db.records.find_one({"record_id": doc["record_id"]})
                for doc in (mine, other, forged)]
        docs[2]["author_id"] = world.doctor["human_id"]  # written outside the app
        ctx, decisions = access.evaluate_all(db, world.doctor, world.patient["human_id"], docs)
        grants = db.grants.find_one({"grantee_id": world.doctor["human_id"]})
    assert ctx.viewer is world.doctor
    assert {key: (d.allowed, d.reason) for key, d in decisions.items()} == {
        (mine["record_id"], 1): (True, access.AUTHOR),
        (other["record_id"], 1): (False, access.NOT_IN_SCOPE),
        (forged["record_id"], 1): (False, access.UNAUTHENTIC)}
    assert grants["state"] == consent.APPROVED  # listing used nothing


def test_a_laboratory_needs_a_grant_for_the_whole_record_type(world):
    lab_id = world.lab["human_id"]
    with world.app.app_context():
        db = get_db()
        assert access.active_grant_for_type(db, world.lab_tech, world.patient["human_id"],
                                            "lab_report") is None
        made = world.grant(lab_id, scope_kind=consent.TYPES, types=["lab_report"])
        world.grant(lab_id, scope_kind=consent.TYPES, types=["diagnosis"], days=30)
        found = access.active_grant_for_type(db, world.lab_tech, world.patient["human_id"],
                                             "lab_report")
        assert found["grant_id"] == made["grant_id"]
        assert access.active_grant_for_type(db, world.lab_tech, world.patient["human_id"],
                                            "prescription") is None
        ended = made["valid_until"] + timedelta(seconds=1)
        assert access.active_grant_for_type(db, world.lab_tech, world.patient["human_id"],
                                            "lab_report", now=ended) is None
        assert access.active_grant_for_type(db, world.doctor, world.patient["human_id"],
                                            "lab_report") is None

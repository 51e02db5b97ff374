"""The access decision, rule by rule (table-driven over the pure `evaluate`), then through the
database: expiry at the boundary, one-time grants used twice, revoked then read, narrowed
scope, each noticed event sealed exactly once."""
from datetime import timedelta

import pytest

from models.consent import access
from models.consent import workflow as consent
from models.people import users
from models.storage.db import get_db
from tests.records.world import utc

NOW = utc(2025, 6, 1, 12, 0, 0)
DOCTOR = {"human_id": "DOC-000001", "role": users.DOCTOR, "org_id": "ORG-0001", "name": "D"}
OTHER_DOCTOR = {"human_id": "DOC-000002", "role": users.DOCTOR, "org_id": "ORG-0002", "name": "O"}
PHARMACIST = {"human_id": "STF-000001", "role": users.PHARMACIST, "org_id": "ORG-0003", "name": "P"}
LAB_TECH = {"human_id": "STF-000002", "role": users.LAB_TECH, "org_id": "ORG-0004", "name": "L"}
MANAGER = {"human_id": "STF-000003", "role": users.ORG_MANAGER, "org_id": "ORG-0003", "name": "M"}
PATIENT = {"human_id": "PAT-000001", "role": users.PATIENT, "org_id": None, "name": "P"}
OTHER_PATIENT = {"human_id": "PAT-000002", "role": users.PATIENT, "org_id": None, "name": "Q"}
ADMIN = {"human_id": "ADM-0001", "role": users.ADMIN, "org_id": None, "name": "A"}
AUDITOR = {"human_id": "AUD-0001", "role": users.AUDITOR, "org_id": None, "name": "U"}


def record(type_name="diagnosis", author="DOC-000009", record_id="PAT-000001-R1", patient="PAT-000001"):
    return {"record_id": record_id, "version": 1, "patient_id": patient, "type": type_name,
            "author_id": author}


def grant(grantee="DOC-000001", scope=None, state=consent.APPROVED, start=NOW - timedelta(days=1),
          days=7, one_time=False, patient="PAT-000001", created=None, grant_id="GRT-000001"):
    return {"grant_id": grant_id, "grantee_id": grantee, "patient_id": patient,
            "scope": scope or {"kind": consent.ALL}, "state": state, "valid_from": start,
            "valid_until": start + timedelta(days=days), "one_time": one_time,
            "created_at": created or start}


def emergency(doctor="DOC-000001", patient="PAT-000001", opened=NOW - timedelta(minutes=10),
              minutes=60):
    return {"emergency_id": "EMG-000001", "doctor_id": doctor, "patient_id": patient,
            "opened_at": opened, "ends_at": opened + timedelta(minutes=minutes)}


def decide(viewer, rec, grants=(), emergencies=(), now=NOW):
    ctx = access.Context(viewer=viewer, patient_id=rec["patient_id"], now=now,
                         grants=list(grants), emergencies=list(emergencies))
    return access.evaluate(ctx, rec)


TYPES_SCOPE = {"kind": consent.TYPES, "types": ["diagnosis", "allergy"]}
NAMED_SCOPE = {"kind": consent.RECORDS, "records": ["PAT-000001-R1"]}

CASES = [
    # (name, viewer, record, grants, emergencies, now, allowed, reason)
    ("deny by default", DOCTOR, record(), [], [], NOW, False, access.NO_CONSENT),
    ("rule 1: the author reads their own version", DOCTOR, record(author="DOC-000001"), [], [], NOW,
     True, access.AUTHOR),
    ("rule 2: an active grant of all types", DOCTOR, record(), [grant()], [], NOW, True, access.GRANT),
    ("rule 2: a grant to the doctor's organization", DOCTOR, record(), [grant(grantee="ORG-0001")],
     [], NOW, True, access.GRANT),
    ("rule 2: grantee must match", DOCTOR, record(), [grant(grantee="DOC-000002")], [], NOW, False,
     access.NO_CONSENT),
    ("rule 2: another organization's grant", DOCTOR, record(), [grant(grantee="ORG-0002")], [], NOW,
     False, access.NO_CONSENT),
    ("rule 2: type inside the scope", DOCTOR, record("allergy"), [grant(scope=TYPES_SCOPE)], [], NOW,
     True, access.GRANT),
    ("rule 2: type outside the scope", DOCTOR, record("prescription"), [grant(scope=TYPES_SCOPE)], [],
     NOW, False, access.NOT_IN_SCOPE),
    ("rule 2: a named record", DOCTOR, record(), [grant(scope=NAMED_SCOPE)], [], NOW, True, access.GRANT),
    ("rule 2: a record not named", DOCTOR, record(record_id="PAT-000001-R2"),
     [grant(scope=NAMED_SCOPE)], [], NOW, False, access.NOT_IN_SCOPE),
    ("rule 2: one second before the end", DOCTOR, record(), [grant(start=NOW - timedelta(days=7),
     days=7)], [], NOW - timedelta(seconds=1), True, access.GRANT),
    ("rule 2: exactly at the end (the period is half-open)", DOCTOR, record(),
     [grant(start=NOW - timedelta(days=7), days=7)], [], NOW, False, access.EXPIRED),
    ("rule 2: before the start", DOCTOR, record(), [grant(start=NOW + timedelta(hours=1))], [], NOW,
     False, access.NO_CONSENT),
    ("rule 2: revoked", DOCTOR, record(), [grant(state=consent.REVOKED)], [], NOW, False, access.REVOKED),
    ("rule 2: expired state", DOCTOR, record(), [grant(state=consent.EXPIRED)], [], NOW, False,
     access.EXPIRED),
    ("rule 2: one-time grant unused", DOCTOR, record(), [grant(one_time=True)], [], NOW, True,
     access.GRANT),
    ("rule 2: one-time grant used", DOCTOR, record(), [grant(one_time=True, state=consent.USED)], [],
     NOW, False, access.USED),
    ("rule 2: another patient's grant", DOCTOR, record(patient="PAT-000002",
     record_id="PAT-000002-R1"), [grant()], [], NOW, False, access.NO_CONSENT),
    ("rule 3: open emergency", DOCTOR, record(), [], [emergency()], NOW, True, access.EMERGENCY),
    ("rule 3: emergency at its end", DOCTOR, record(), [], [emergency(opened=NOW - timedelta(minutes=60))],
     NOW, False, access.NO_CONSENT),
    ("rule 3: emergency of another patient", DOCTOR, record(), [], [emergency(patient="PAT-000002")],
     NOW, False, access.NO_CONSENT),
    ("patient reads own", PATIENT, record(), [], [], NOW, True, access.PATIENT_SELF),
    ("patient cannot read another patient's", OTHER_PATIENT, record(), [], [], NOW, False,
     access.NO_CONSENT),
    ("admin never reads clinical data", ADMIN, record(), [grant(grantee="ADM-0001")], [], NOW, False,
     access.NOT_FOR_ROLE),
    ("auditor never reads clinical data", AUDITOR, record(), [grant(grantee="AUD-0001")], [], NOW,
     False, access.NOT_FOR_ROLE),
    ("pharmacist reads a prescription shared with the pharmacy", PHARMACIST, record("prescription"),
     [grant(grantee="ORG-0003")], [], NOW, True, access.GRANT),
    ("pharmacist never reads a diagnosis, even with an all-types grant", PHARMACIST, record(),
     [grant(grantee="ORG-0003")], [], NOW, False, access.NOT_FOR_ROLE),
    ("lab technician reads own lab report", LAB_TECH, record("lab_report", author="STF-000002"), [], [],
     NOW, True, access.AUTHOR),
    ("lab technician cannot read a note", LAB_TECH, record("note"), [grant(grantee="ORG-0004")], [],
     NOW, False, access.NOT_FOR_ROLE),
    ("manager reads under the organization's grant", MANAGER, record("prescription"),
     [grant(grantee="ORG-0003")], [], NOW, True, access.GRANT),
    ("manager has no emergency rule", MANAGER, record(), [], [emergency(doctor="STF-000003")], NOW,
     False, access.NO_CONSENT),
    ("a reusable grant is preferred to a one-time one", DOCTOR, record(),
     [grant(one_time=True, grant_id="GRT-000001"), grant(grant_id="GRT-000002")], [], NOW, True,
     access.GRANT),
]


@pytest.mark.parametrize("name,viewer,rec,grants,emergencies,now,allowed,reason", CASES,
                         ids=[case[0] for case in CASES])
def test_access_rules(name, viewer, rec, grants, emergencies, now, allowed, reason):
    decision = decide(viewer, rec, grants, emergencies, now)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_the_reusable_grant_is_the_basis_when_both_cover():
    decision = decide(DOCTOR, record(), [grant(one_time=True, grant_id="GRT-000001"),
                                         grant(grant_id="GRT-000002")])
    assert decision.grant["grant_id"] == "GRT-000002"
    assert decision.basis == "grant GRT-000002"


def test_the_latest_covering_grant_explains_the_denial():
    old = grant(state=consent.REVOKED, created=NOW - timedelta(days=5), grant_id="GRT-000001")
    new = grant(state=consent.EXPIRED, created=NOW - timedelta(days=2), grant_id="GRT-000002")
    assert decide(DOCTOR, record(), [old, new]).reason == access.EXPIRED
    assert decide(DOCTOR, record(), [new, old]).reason == access.EXPIRED


# Through the database ----------------------------------------------------------------------

def _blocks(app, kind):
    with app.app_context():
        return list(get_db().ledger_blocks.find({"kind": kind}))


def _decide(world, viewer, rec, now=None, consume=True):
    with world.app.app_context():
        return access.decide(get_db(), viewer, rec, now=now, consume=consume)


def test_expiry_is_noticed_at_access_time_and_sealed_once(world):
    rec = world.write(world.colleague, "diagnosis")
    start = utc(2025, 1, 1)
    made = world.grant(world.doctor["human_id"], days=1, now=start)
    end = made["valid_until"]
    assert _decide(world, world.doctor, rec, now=end - timedelta(milliseconds=1)).allowed
    assert _blocks(world.app, consent.EXPIRED_KIND) == []
    first = _decide(world, world.doctor, rec, now=end)
    second = _decide(world, world.doctor, rec, now=end + timedelta(hours=1))
    assert (first.allowed, first.reason) == (False, access.EXPIRED)
    assert (second.allowed, second.reason) == (False, access.EXPIRED)
    assert world.find_one("grants", {"grant_id": made["grant_id"]})["state"] == consent.EXPIRED
    blocks = _blocks(world.app, consent.EXPIRED_KIND)
    assert [block["subject"] for block in blocks] == [{"grant": made["grant_id"]}]


def test_one_time_grant_serves_one_read_and_seals_its_use(world):
    rec = world.write(world.colleague, "diagnosis")
    made = world.grant(world.doctor["human_id"], one_time=True)
    assert _decide(world, world.doctor, rec, consume=False).allowed  # listing uses nothing
    assert world.find_one("grants", {"grant_id": made["grant_id"]})["state"] == consent.APPROVED
    first = _decide(world, world.doctor, rec)
    second = _decide(world, world.doctor, rec)
    assert first.allowed and first.grant["grant_id"] == made["grant_id"]
    assert (second.allowed, second.reason) == (False, access.USED)
    stored = world.find_one("grants", {"grant_id": made["grant_id"]})
    assert (stored["state"], stored["used_record"]) == (consent.USED, rec["record_id"])
    assert len(_blocks(world.app, consent.USED_KIND)) == 1


def test_revoked_then_read_is_refused(world):
    rec = world.write(world.colleague, "diagnosis")
    made = world.grant(world.doctor["human_id"])
    assert _decide(world, world.doctor, rec).allowed
    with world.app.app_context():
        consent.revoke(get_db(), patient=world.patient, grant_id=made["grant_id"])
    decision = _decide(world, world.doctor, rec)
    assert (decision.allowed, decision.reason) == (False, access.REVOKED)


def test_narrowed_scope_on_approval_is_what_counts(world):
    diagnosis = world.write(world.colleague, "diagnosis")
    allergy = world.write(world.colleague, "allergy")
    req = world.ask(world.doctor, scope_kind=consent.TYPES, types=["diagnosis", "allergy"])
    world.approve(req["request_id"], scope={"kind": consent.TYPES, "types": ["allergy"]})
    assert _decide(world, world.doctor, allergy).allowed
    refused = _decide(world, world.doctor, diagnosis)
    assert (refused.allowed, refused.reason) == (False, access.NOT_IN_SCOPE)


def test_a_grant_to_a_hospital_covers_its_doctors_only(world):
    rec = world.write(world.outsider, "note")
    world.grant(world.hospital_a["human_id"])
    assert _decide(world, world.doctor, rec).allowed
    assert _decide(world, world.colleague, rec).allowed
    other = world.write(world.doctor, "note")
    assert not _decide(world, world.outsider, other).allowed

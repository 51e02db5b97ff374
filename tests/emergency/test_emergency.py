"""Break-glass access: password re-entry, a reason, a time limit, read-only, sealed, shown to
the patient, and queued for the auditor until reviewed (once)."""
from datetime import timedelta

import pytest

from models.clinical import records
from models.consent import access, emergency
from models.core.errors import Conflict, Forbidden, InvalidInput
from models.storage.db import get_db
from tests.conftest import PASSWORD
from tests.records.world import SECRET, VALID

REASON = "Unconscious after a road accident, no relative reachable"


def _open(world, client, password=PASSWORD, reason=REASON):
    return client.post(f"/doctor/patients/{world.patient['human_id']}/emergency",
                       data={"password": password, "reason": reason})


def test_wrong_password_or_missing_reason_opens_nothing(world, client, auth):
    auth.login(world.outsider["username"])
    assert client.get(f"/doctor/patients/{world.patient['human_id']}/emergency").status_code == 200
    wrong = _open(world, client, password="not my password")
    assert wrong.status_code == 403 and "That is not your password." in wrong.text
    short = _open(world, client, reason="hurry")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert world.count("emergencies") == 0 and world.count("ledger_blocks") == 0


def test_an_emergency_lets_the_doctor_read_and_is_sealed_and_shown(world, client, auth):
    rec = world.write(world.doctor, "allergy")
    auth.login(world.outsider["username"])
    assert client.get(f"/doctor/records/{rec['record_id']}/v1").status_code == 403
    assert _open(world, client).status_code == 302
    case = world.find_one("emergencies", {})
    assert (case["review_state"], case["reason"]) == (emergency.PENDING_REVIEW, REASON)
    assert case["ends_at"] - case["opened_at"] == timedelta(minutes=60)
    block = world.find_one("ledger_blocks", {"_id": case["sealed_height"]})
    assert (block["kind"], block["subject"]) == ("emergency.access", {"emergency": case["emergency_id"]})
    page = client.get(f"/doctor/records/{rec['record_id']}/v1")
    assert page.status_code == 200 and SECRET["allergy"] in page.text
    assert world.find_one("record_reads", {})["basis"] == f"emergency {case['emergency_id']}"
    assert _open(world, client).status_code == 409
    auth.logout()
    auth.login(world.patient["username"])
    dashboard = client.get("/patient/")
    assert 'data-testid="emergency-alert"' in dashboard.text and REASON in dashboard.text
    assert case["emergency_id"] in client.get("/patient/emergencies").text
    read_log = client.get("/patient/access-log").text
    assert "emergency access" in read_log and case["emergency_id"] in read_log


def test_the_duration_comes_from_configuration(world, client, auth):
    world.app.config["EMERGENCY_MINUTES"] = 5
    auth.login(world.outsider["username"])
    _open(world, client)
    case = world.find_one("emergencies", {})
    assert case["ends_at"] - case["opened_at"] == timedelta(minutes=5)


def test_an_emergency_ends_on_time_and_is_read_only(world):
    rec = world.write(world.doctor, "note")
    with world.app.app_context():
        db = get_db()
        case = emergency.open_emergency(db, doctor=world.outsider, patient_id=world.patient["human_id"],
                                        password=PASSWORD, reason=REASON, minutes=60)
        assert access.decide(db, world.outsider, rec, now=case["ends_at"] - timedelta(seconds=1)).allowed
        late = access.decide(db, world.outsider, rec, now=case["ends_at"])
        assert (late.allowed, late.reason) == (False, access.NO_CONSENT)
        other = world.write(world.doctor, "note", patient=world.other_patient)
        assert not access.decide(db, world.outsider, other).allowed
        assert not access.decide(db, world.colleague, rec).allowed
        assert not records.may_amend(world.outsider, rec)
        with pytest.raises(Forbidden):
            records.amend(db, world.key, author=world.outsider, record_id=rec["record_id"],
                          version=1, raw=VALID["note"], max_bytes=10**6)


def test_only_verified_doctors_break_the_glass(world, make_account):
    unverified = make_account("doctor", "newdoc", verified=False, org_id=world.hospital_a["human_id"])
    with world.app.app_context():
        for account in (unverified, world.pharmacist, world.manager):
            with pytest.raises(Forbidden):
                emergency.open_emergency(get_db(), doctor=account, patient_id=world.patient["human_id"],
                                         password=PASSWORD, reason=REASON, minutes=60)
    assert world.count("emergencies") == 0


def test_the_auditor_reviews_once_and_the_review_is_sealed(world):
    with world.app.app_context():
        db = get_db()
        case = emergency.open_emergency(db, doctor=world.outsider, patient_id=world.patient["human_id"],
                                        password=PASSWORD, reason=REASON, minutes=60)
        assert [c["emergency_id"] for c in emergency.pending_review(db)] == [case["emergency_id"]]
        with pytest.raises(Forbidden):
            emergency.review(db, case["emergency_id"], world.admin, True, "ok")
        with pytest.raises(InvalidInput):
            emergency.review(db, case["emergency_id"], world.auditor, True, "x" * 1001)
        with pytest.raises(Conflict, match="still open until"):
            emergency.review(db, case["emergency_id"], world.auditor, False, "Too early",
                             now=case["ends_at"] - timedelta(seconds=1))
        assert db.emergencies.find_one({})["review_state"] == emergency.PENDING_REVIEW
        reviewed = emergency.review(db, case["emergency_id"], world.auditor, False, "No emergency",
                                    now=case["ends_at"])
        assert (reviewed["review_state"], reviewed["review"]["note"]) == (emergency.UNJUSTIFIED,
                                                                          "No emergency")
        with pytest.raises(Conflict):
            emergency.review(db, case["emergency_id"], world.auditor, True, "Changed my mind",
                             now=case["ends_at"])
        assert emergency.pending_review(db) == []
        assert db.ledger_blocks.count_documents({"kind": "emergency.reviewed"}) == 1

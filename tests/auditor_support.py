"""Shared by the auditor, receipt, CLI and tamper-drill tests: a sealed clinical world, and
running the audit exactly as the auditor's page does (background job, polled status).

`sealed_world` verifies the world's doctors through the licence flow, so each has its
`account.verified` block and an untouched database audits as sound.
"""
import time
from datetime import timedelta

import pytest

from models.core import clock
from models.people import users, verification
from models.storage.db import get_db
from tests.conftest import as_the_app
from tests.records.world import SECRET, VALID, world  # noqa: F401  (fixture re-exported)

AUDIT_TIMEOUT = 120


def verify_through_ledger(app, doctor, admin):
    """A doctor created `verified` by a fixture, re-verified the real way (sealed block)."""
    with app.app_context():
        db = get_db()
    as_the_app(app, "users", {"_id": doctor["_id"]}, {"$set": {"verification.state": "pending"}})
    with app.app_context():
        return verification.approve(get_db(), doctor["human_id"], admin)


@pytest.fixture
def sealed_world(world):
    for doctor in (world.doctor, world.colleague, world.outsider):
        verify_through_ledger(world.app, doctor, world.admin)
    return world


def login(client, account):
    response = client.post("/login", data={"username": account["username"],
                                           "password": "correct horse battery"})
    assert response.status_code == 302, response.data
    return account


def start_audit(client, held=""):
    response = client.post("/auditor/audits", data={"held": held})
    assert response.status_code == 302, response.data
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def wait_for_job(client, job, timeout=AUDIT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/auditor/audits/{job}/status").get_json()
        if status["state"] in ("done", "failed"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def web_audit(client, app, held=""):
    """Start an audit from the page, wait for the background job, return the stored job."""
    job = start_audit(client, held)
    status = wait_for_job(client, job)
    assert status["state"] == "done", status
    return get_db(app).audit_jobs.find_one({"_id": job})


def problems(job, kind=None):
    found = job["report"]["problems"]
    return [p for p in found if kind is None or p["kind"] == kind]


ROLES_AND_ANONYMOUS = users.ROLES + ("anonymous",)


# Distinctive values for the general record, beside the world's text secrets: none of them
# can appear on an auditor page by accident (hashes are hex, counts are integers).
GENERAL = {"weight_kg": "431.9", "height_cm": "257.3", "blood_group_abo": "AB",
           "blood_group_rh": "-", "systolic_mmhg": "131", "diastolic_mmhg": "87",
           "heart_rate_bpm": "67", "temperature_c": "44.9", "spo2_percent": "97"}
CLINICAL_SECRETS = [value for kind, value in SECRET.items() if kind != "general"] + [
    "431.9", "257.3", "44.9", "Please share", "Take with waterfall", "Hivesbloom"]


def after_window(monkeypatch, case):
    """Move the one clock just past the emergency's window (and let it run on from there):
    an emergency is reviewed only once it has closed."""
    real = clock.now
    shift = case["ends_at"] - real() + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: real() + shift)


def populate(world):
    """Every record type, an amendment, consent events, an emergency with a read."""
    from models.clinical import audit_trail, records
    from models.consent import access, emergency
    from models.consent import workflow as consent

    app = world.app
    written = {"general": world.write(world.doctor, "general", raw=GENERAL)}
    for type_name in VALID:
        if type_name in ("general", "patient_provided"):
            continue
        written[type_name] = world.write(world.doctor, type_name)
    written["patient_provided"] = world.write(world.patient, "patient_provided")
    with app.app_context():
        db = get_db()
        amended = records.amend(db, world.key, author=world.doctor,
                                record_id=written["note"]["record_id"], version=1,
                                raw=dict(VALID["note"], text="Second marbleflux visit"),
                                max_bytes=app.config["MAX_ATTACHMENT_BYTES"])
        grant = consent.grant_proactively(
            db, patient=world.patient, grantee=world.colleague["human_id"], scope_kind="types",
            type_names=["general", "diagnosis"], purpose="treatment", duration_days=7,
            one_time=False, note="Please share")
        consent.revoke(db, patient=world.patient, grant_id=grant["grant_id"])
        request = consent.request_access(
            db, requester=world.outsider, patient_id=world.patient["human_id"], scope_kind="all",
            purpose="treatment", duration_days=7, one_time=False, message="Please share")
        approved = consent.approve(db, patient=world.patient, request_id=request["request_id"])
        case = emergency.open_emergency(
            db, doctor=world.colleague, patient_id=world.patient["human_id"],
            password="correct horse battery", reason="Unconscious on arrival, needs history",
            minutes=60)
        record = written["general"]
        decision = access.decide(db, world.colleague, record)
        assert decision.allowed and decision.emergency
        read = audit_trail.record_read(db, world.colleague, record, decision)
    return {"records": written, "amended": amended, "grant": grant, "request": request,
            "approved": approved, "emergency": case, "read": read}

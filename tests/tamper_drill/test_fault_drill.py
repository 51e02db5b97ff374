"""Fault drills on the integration tier: the database server killed (SIGKILL) and restarted
under load, a gunicorn worker killed mid-request, and the ledger's appender across restarts.

Afterwards every write the app acknowledged is there with its block, no id was issued twice,
reconcile leaves nothing for a person and the audit is sound. The drill runs about half a
minute in CI; FAULT_DRILL_SECONDS=600 repeats it for ten minutes.
"""
import os
import random
import re
import signal
import threading
import time

import pymongo
import pytest

from app import create_app
from models.clinical import records
from models.people import organizations, users
from models.sealing import audit_jobs, seam
from models.storage.db import close_client, get_db
from tests.auditor_support import verify_through_ledger
from tests.conftest import make_config
from tests.fault_support import Client, DatabaseProcess, Gunicorn, flashed

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
DRILL_SECONDS = int(os.environ.get("FAULT_DRILL_SECONDS", "30"))
NOTE = {"title": "Drill note", "text": "Written during the fault drill", "sensitivity": "normal",
        "submit": "Save"}


@pytest.fixture
def database(tmp_path):
    server = DatabaseProcess(tmp_path / "db").start()
    yield server
    close_client(server.uri)  # the drill app's client, which would outlive its server
    server.stop()


@pytest.fixture
def drill_app(tmp_path, database):
    """An app in this process on the drill's database (to set up and to check)."""
    return create_app(make_config(tmp_path, MONGO_URI=database.uri, MONGO_DB="drill"))


def _people(app):
    """A hospital, two verified doctors (sealed), three patients; all by the models."""
    with app.app_context():
        db = get_db()
        hospital = organizations.create(db, name="Drill Hospital", kind=organizations.HOSPITAL)
        admin = users.create_user(db, username="drilladmin", role=users.ADMIN, name="Ada Admin",
                                  password=PASSWORD, rounds=4)
        doctors = [users.create_user(db, username=f"drilldoc{i}", role=users.DOCTOR,
                                     name=f"Doctor {'AB'[i]}", password=PASSWORD, rounds=4,
                                     org_id=hospital["human_id"], verified=True)
                   for i in range(2)]
        patients = [users.create_user(db, username=f"drillpat{i}", role=users.PATIENT,
                                      name=f"Patient {'ABC'[i]}", password=PASSWORD, rounds=4)
                    for i in range(3)]
    for doctor in doctors:
        verify_through_ledger(app, doctor, admin)
    return doctors, patients


class Acknowledged:
    """What the app told each person it had done, collected by the writers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records, self.grants, self.revoked, self.approved = [], {}, set(), {}

    def add(self, kind, *values):
        with self.lock:
            if kind == "record":
                self.records.append(values[0])
            elif kind == "grant":
                self.grants[values[0]] = values[1]
            elif kind == "revoked":
                self.revoked.add(values[0])
            elif kind == "approved":
                self.approved[values[0]] = values[1]


def _done(status, location, expected):
    """A redirect to where a success leads (a redirect to the sign-in page is not one)."""
    return status == 302 and bool(location) and expected in location and "/login" not in location


def _doctor_writes(url, doctor, patient, acked, stop):
    client = Client(url)
    client.login(doctor["username"], PASSWORD)
    path = f"/doctor/patients/{patient['human_id']}/records/new/note"
    while not stop.is_set():
        status, location, _ = client.request(path, NOTE)
        if _done(status, location, "/doctor/records/"):
            acked.add("record", re.search(r"/records/([^/]+)/v1", location).group(1))
        else:
            time.sleep(0.05)


def _patient_shares(url, patient, doctor, acked, stop):
    """Share with a doctor, then revoke it: the ids come from the messages shown."""
    client = Client(url)
    client.login(patient["username"], PASSWORD)
    while not stop.is_set():
        status, location, _ = client.request("/patient/grants/new", {
            "grantee": doctor["human_id"], "scope": "all", "purpose": "treatment",
            "duration_days": "7", "note": "", "submit": "Share"})
        if not _done(status, location, "/patient/grants"):
            time.sleep(0.05)
            continue
        status, _, body = client.request("/patient/grants")
        grant_id = flashed(body, r"as (GRT-\d{6})\.")
        if status != 200 or grant_id is None:
            continue
        acked.add("grant", grant_id, patient["human_id"])
        status, location, _ = client.request(f"/patient/grants/{grant_id}/revoke",
                                             {"submit": "Revoke"})
        if _done(status, location, "/patient/grants"):
            status, _, body = client.request("/patient/grants")
            if status == 200 and flashed(body, rf"({grant_id}) is revoked"):
                acked.add("revoked", grant_id)


def _request_and_approve(url, doctor, patient, acked, stop):
    """A doctor asks, the patient approves: an approval is two writes and a block."""
    asker, answerer = Client(url), Client(url)
    asker.login(doctor["username"], PASSWORD)
    answerer.login(patient["username"], PASSWORD)
    while not stop.is_set():
        asker.request(f"/doctor/patients/{patient['human_id']}/request-access", {
            "scope": "all", "purpose": "treatment", "duration_days": "7",
            "message": "Drill", "submit": "Send request"})
        status, _, body = answerer.request("/patient/")
        for request_id in set(re.findall(r"/patient/requests/(REQ-\d{6})", body)):
            status, location, _ = answerer.request(f"/patient/requests/{request_id}/approve",
                                                   {"duration_days": "7", "submit": "Approve"})
            if _done(status, location, "/patient/"):
                status, _, body = answerer.request("/patient/")
                if flashed(body, rf"You approved ({request_id}):"):
                    acked.add("approved", request_id, patient["human_id"])
        time.sleep(0.05)


def test_acknowledged_writes_survive_database_and_worker_kills(tmp_path, database, drill_app):
    doctors, patients = _people(drill_app)
    server = Gunicorn(drill_app, tmp_path / "gunicorn.log")
    acked, stop = Acknowledged(), threading.Event()
    writers = [threading.Thread(target=_doctor_writes, args=(server.url, doctors[0], patients[0],
                                                             acked, stop)),
               threading.Thread(target=_doctor_writes, args=(server.url, doctors[1], patients[1],
                                                             acked, stop)),
               threading.Thread(target=_patient_shares, args=(server.url, patients[2],
                                                              doctors[0], acked, stop)),
               threading.Thread(target=_request_and_approve, args=(server.url, doctors[1],
                                                                   patients[0], acked, stop))]
    rng = random.Random(17)
    kills = 0
    try:
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + DRILL_SECONDS
        worker_killed = False
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(2.0, 5.0))
            database.kill()
            kills += 1
            time.sleep(rng.uniform(0.1, 1.0))
            database.start()
            if not worker_killed:
                time.sleep(1.0)
                os.kill(server.workers()[0], signal.SIGKILL)  # mid-request: writers are busy
                worker_killed = True
    finally:
        stop.set()
        for writer in writers:
            writer.join(60)
        server.stop()
    assert kills >= 3 and acked.records and acked.grants and acked.approved, \
        (kills, len(acked.records), len(acked.grants), len(acked.approved))

    runner = drill_app.test_cli_runner()
    result = runner.invoke(args=["ledger", "reconcile", "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert "0 left for a person" in result.output
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output

    with drill_app.app_context():
        db = get_db()
        assert len(set(acked.records)) == len(acked.records)  # no id twice
        for record_id in acked.records:
            doc = records.get_version(db, record_id, 1)
            assert doc is not None and doc["sealed_height"] is not None, record_id
            block = db.ledger_blocks.find_one({"_id": doc["sealed_height"]})
            assert block["subject"] == {"record": record_id, "version": 1}
        approvals = []
        for request_id, patient_id in acked.approved.items():
            req = db.access_requests.find_one({"request_id": request_id})
            assert req["state"] == "approved" and req["patient_id"] == patient_id, request_id
            approvals.append((req["grant_id"], patient_id))
        for grant_id, patient_id in list(acked.grants.items()) + approvals:
            grant = db.grants.find_one({"grant_id": grant_id})
            assert grant is not None and grant["patient_id"] == patient_id, grant_id
            assert grant["sealed_height"] is not None and not seam.is_pending(grant)
        for grant_id in acked.revoked:
            grant = db.grants.find_one({"grant_id": grant_id})
            assert grant["state"] == "revoked" and grant["seals"]["revoked"]["height"] is not None
        assert audit_jobs.run_audit(db, drill_app).ok


def test_the_appender_never_forks_when_the_database_loses_its_tip(drill_app, database):
    """Blocks sealed, the server killed and restarted, and the last block lost (as a server
    without a journal would lose it): the next append builds on the real tip, not on the one
    this process remembers."""
    with drill_app.test_request_context():
        for round_number in range(3):
            sealed = [seam.seal("access.used", {"grant": f"GRT-{round_number:03d}{i:03d}"}, None,
                                {"n": i})[0] for i in range(4)]
            database.kill()
            database.start()
            with pymongo.MongoClient(database.uri) as other:  # the server lost its last write
                other.drill.ledger_blocks.delete_one({"_id": sealed[-1]["height"]})
            block = None
            for _ in range(50):  # the first operations after a restart may fail; retry
                try:
                    block, _ = seam.seal("access.used", {"grant": "GRT-AFTER"}, None,
                                         {"round": round_number})
                    break
                except Exception:  # noqa: BLE001 - the driver's reconnect errors
                    time.sleep(0.2)
            assert block is not None
            assert block["height"] == sealed[-1]["height"]
            assert block["prev_hash"] == sealed[-2]["hash"]
        report = audit_jobs.run_audit(get_db(), drill_app)
    assert report.ok, [(p.kind, p.height, p.detail) for p in report.problems]

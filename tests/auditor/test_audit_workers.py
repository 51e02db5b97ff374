"""The auditor page's audit on several processes (AUDIT_WORKERS, models/sealing/audit_jobs.py):
taken when the workers can open the database, with the same report as one process; a
heartbeat while it runs; one process when the database is this process's own."""
import threading
import time

import pytest

from models.sealing import audit_jobs, parallel_audit
from models.storage.db import get_db
from tests.auditor_support import login, populate, web_audit


@pytest.fixture
def parallel_runs(monkeypatch):
    """The worker counts of every parallel audit started (the real one runs)."""
    counts, real = [], parallel_audit.run

    def spy(db, app, workers, *args, **kwargs):
        counts.append(workers)
        return real(db, app, workers, *args, **kwargs)
    monkeypatch.setattr(parallel_audit, "run", spy)
    return counts


def _report(job):
    """The stored report less its timing (also the verdict line's last figure)."""
    report = dict(job["report"])
    report.pop("elapsed", None)
    report["verdict"] = report["verdict"].rsplit(", ", 1)[0]
    return report


@pytest.mark.integration
def test_the_page_audits_on_worker_processes_with_the_same_report(app, client, sealed_world,
                                                                  parallel_runs):
    made = populate(sealed_world)
    login(client, sealed_world.auditor)
    app.config["AUDIT_WORKERS"] = 2
    sound = web_audit(client, app)
    size = get_db(app).ledger_blocks.count_documents({})
    assert parallel_runs == [2]
    assert sound["report"]["ok"] and sound["report"]["blocks_checked"] == size
    assert sound["report"]["offline_note"] is None  # contents and block codes were checked
    assert sound["done"] == size

    record = next(iter(made["records"].values()))
    get_db(app).records.update_one({"_id": record["_id"]}, {"$set": {"type": "lab"}})
    on_workers = web_audit(client, app)
    app.config["AUDIT_WORKERS"] = 1
    in_one = web_audit(client, app)
    assert parallel_runs == [2, 2]
    assert not on_workers["report"]["ok"]
    assert _report(on_workers) == _report(in_one)
    assert {p["kind"] for p in on_workers["report"]["problems"]} >= {
        "attribute-mismatch", "unauthenticated-document"}


def test_a_database_only_this_process_can_open_is_audited_here(app, client, sealed_world,
                                                               parallel_runs):
    """mongomock (the unit tier) lives in this process: no worker could read it."""
    populate(sealed_world)
    login(client, sealed_world.auditor)
    app.config["AUDIT_WORKERS"] = 4
    job = web_audit(client, app)
    assert parallel_runs == []
    assert job["report"]["ok"] and job["report"]["offline_note"] is None


def test_an_audit_on_workers_keeps_its_heartbeat(app, sealed_world, monkeypatch):
    """No progress comes from the workers; the heartbeat says the job is alive, so another
    process does not take it over as dead."""
    app.config["AUDIT_WORKERS"] = 2
    monkeypatch.setattr(audit_jobs, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(parallel_audit, "workers_can_reach", lambda app: True)
    monkeypatch.setattr(audit_jobs, "submit", lambda *args, **kwargs: None)
    db = get_db(app)
    beats, running = [], threading.Event()

    def slow(db_, app_, workers, held, register, full_audit):
        assert (workers, register) == (2, app.extensions["medledger"]["register_events"])
        running.set()
        for _ in range(4):
            time.sleep(0.1)
            beats.append(db.audit_state.find_one({"_id": "audit"})["heartbeat"])
        return full_audit(db_, app_, held)
    monkeypatch.setattr(parallel_audit, "run", slow)
    with app.app_context():
        job = audit_jobs.start(db, "AUD-0001")
    audit_jobs.execute(app, job["_id"])
    assert running.is_set()
    assert len(set(beats)) >= 3 and beats == sorted(beats)
    final = db.audit_jobs.find_one({"_id": job["_id"]})
    assert final["state"] == "done" and final["report"]["ok"]
    assert db.audit_state.find_one({"_id": "audit"})["running"] is None

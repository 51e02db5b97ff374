"""Full audits from the page: background job, live progress, report, one at a time."""
import re
import threading
from datetime import timedelta

import pytest
from ledger.attributes import attribute_leaf_hashes, attribute_root
from ledger.block import ZERO_HASH, make_block, make_header

from models.core import clock
from models.core.errors import Conflict
from models.sealing import audit_jobs as ledger_audit
from models.storage import authority
from models.storage.db import get_db
from tests.auditor_support import login, populate, wait_for_job, web_audit

SALT = "AAAAAAAAAAAAAAAAAAAAAA=="


@pytest.fixture
def auditor_login(client, sealed_world):
    return login(client, sealed_world.auditor)


def test_a_sound_chain_audits_sound_from_the_page(app, client, sealed_world, auditor_login):
    populate(sealed_world)
    job = web_audit(client, app)
    size = get_db(app).ledger_blocks.count_documents({})
    assert job["report"]["ok"] and job["report"]["blocks_checked"] == size
    assert job["requested_by"] == sealed_world.auditor["human_id"]
    assert job["started_at"] and job["finished_at"] and job["done"] == size
    page = client.get(f"/auditor/audits/{job['_id']}").get_data(as_text=True)
    assert 'data-verdict="sound"' in page and f">{size}<" in page
    overview = client.get("/auditor/").get_data(as_text=True)
    assert job["_id"] in overview and 'data-verdict="sound"' in overview
    history = client.get("/auditor/audits").get_data(as_text=True)
    assert job["_id"] in history


def test_the_report_links_each_problem_to_its_block(app, client, sealed_world, auditor_login):
    made = populate(sealed_world)
    grant = made["grant"]
    get_db(app).grants.update_one({"_id": grant["_id"]}, {"$set": {"scope": {"kind": "all"}}})
    job = web_audit(client, app)
    page = client.get(f"/auditor/audits/{job['_id']}").get_data(as_text=True)
    height = grant["sealed_height"]
    assert 'data-verdict="tampered"' in page
    assert re.search(rf'data-kind="attribute-mismatch" data-height="{height}"', page)
    assert f'href="/auditor/blocks/{height}" data-testid="problem-block-link"' in page
    assert 'data-testid="problem-attribute">scope<' in page
    report = client.get(f"/auditor/audits/{job['_id']}/report.json").get_json()
    assert report["report"]["first_failing_height"] == height
    # The chain's view (the block's leaf) and the document's own authority code both name it.
    assert [(p["kind"], p.get("height"), p["attribute"])
            for p in report["report"]["problems"]] == \
        [("attribute-mismatch", height, "scope"), ("unauthenticated-document", None, "scope")]


@pytest.fixture
def held_audit(monkeypatch):
    """Audits that wait for `release` before running, so a test can look at a running one."""
    release = threading.Event()
    started = threading.Event()
    real = ledger_audit.run_audit

    def waiting(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(ledger_audit, "run_audit", waiting)
    yield started, release
    release.set()


def test_a_second_audit_while_one_runs_is_refused(app, client, sealed_world, auditor_login,
                                                  held_audit):
    started, release = held_audit
    first = client.post("/auditor/audits", data={"held": ""})
    assert first.status_code == 302
    assert started.wait(10)
    job = first.headers["Location"].rsplit("/", 1)[-1]
    assert client.get(f"/auditor/audits/{job}/status").get_json()["state"] == "running"
    second = client.post("/auditor/audits", data={"held": ""})
    assert second.status_code == 409
    assert b"An audit is already running (" + job.encode() + b")" in second.data
    assert get_db(app).audit_jobs.count_documents({}) == 1
    release.set()
    assert wait_for_job(client, job)["state"] == "done"
    assert client.post("/auditor/audits", data={"held": ""}).status_code == 302


def test_the_progress_page_survives_a_reload(app, client, sealed_world, auditor_login, held_audit):
    started, release = held_audit
    job = client.post("/auditor/audits").headers["Location"].rsplit("/", 1)[-1]
    assert started.wait(10)
    get_db(app).audit_jobs.update_one({"_id": job}, {"$set": {
        "done": 5000, "total": 20000, "rate": 2500.0, "eta_seconds": 6.0}})
    for _ in range(2):  # a reload renders the same state, read back from the database
        page = client.get(f"/auditor/audits/{job}").get_data(as_text=True)
        assert 'data-testid="audit-progress"' in page and 'value="25.0"' in page
        assert 'data-testid="audit-done">5000<' in page
    status = client.get(f"/auditor/audits/{job}/status").get_json()
    assert status == {"job": job, "state": "running", "done": 5000, "total": 20000,
                      "percent": 25.0, "rate": 2500.0, "eta_seconds": 6.0, "error": None}
    assert 'data-audit-status-url="/auditor/audits/' + job + '/status"' in \
        client.get("/auditor/audits").get_data(as_text=True)
    release.set()
    assert wait_for_job(client, job)["state"] == "done"


def _bulk_chain(db, count):
    """Valid prebuilt blocks inserted in bulk (what the benchmark does, smaller)."""
    prev, docs = ZERO_HASH, []
    for height in range(count):
        leaves = attribute_leaf_hashes({"n": height}, {"n": SALT})
        header = make_header(height=height, prev_hash=prev, kind="bench.event",
                             subject={"bench": height}, actor="act-bench",
                             attr_root=attribute_root(leaves).hex(), attr_count=1,
                             timestamp="2024-01-01T00:00:00.000Z")
        doc = make_block(header, leaves)
        doc["mac"] = authority.block_mac(doc["hash"])  # appended by the app (in bulk)
        docs.append(doc)
        prev = doc["hash"]
    db.ledger_blocks.insert_many(docs)
    db.ledger_meta.update_one({"_id": "tip"}, {"$set": {"height": count - 1}}, upsert=True)


def test_progress_is_written_to_the_job_every_batch(app, monkeypatch):
    app.config["AUDIT_BATCH"] = 500
    db = get_db(app)
    _bulk_chain(db, 1200)
    seen = []
    real_audit = ledger_audit.audit

    def watching(*args, progress=None, **kwargs):
        def spy(done, total):
            progress(done, total)
            seen.append(db.audit_jobs.find_one({"_id": job["_id"]}))
        return real_audit(*args, progress=spy, **kwargs)
    monkeypatch.setattr(ledger_audit, "audit", watching)
    monkeypatch.setattr(ledger_audit, "submit", lambda *args, **kwargs: None)
    with app.app_context():
        job = ledger_audit.start(db, "AUD-0001")
    ledger_audit.execute(app, job["_id"])
    middle = seen[0]
    assert (middle["state"], middle["done"], middle["total"]) == ("running", 500, 1200)
    assert middle["rate"] > 0 and middle["eta_seconds"] > 0
    final = db.audit_jobs.find_one({"_id": job["_id"]})
    assert [doc["done"] for doc in seen] == [500, 1000, 1200]
    assert final["state"] == "done" and final["done"] == 1200
    assert final["report"]["ok"], final["report"]["problems"][:3]
    assert db.audit_state.find_one({"_id": "audit"})["running"] is None


def test_a_stale_running_audit_is_taken_over(app, client, sealed_world, auditor_login):
    db = get_db(app)
    long_ago = clock.now() - ledger_audit.STALE_AFTER - timedelta(seconds=5)
    db.audit_jobs.insert_one({"_id": "AUDIT-999999", "number": 999999, "state": "running",
                              "requested_by": "AUD-0009", "created_at": long_ago, "total": 5})
    db.audit_state.insert_one({"_id": "audit", "running": "AUDIT-999999", "heartbeat": long_ago})
    job = web_audit(client, app)
    assert job["report"]["ok"]
    dead = db.audit_jobs.find_one({"_id": "AUDIT-999999"})
    assert dead["state"] == "failed" and "interrupted" in dead["error"]


def test_a_failing_audit_ends_failed_and_frees_the_lock(app, client, sealed_world,
                                                       auditor_login, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(ledger_audit, "run_audit", broken)
    job = client.post("/auditor/audits").headers["Location"].rsplit("/", 1)[-1]
    status = wait_for_job(client, job)
    assert status["state"] == "failed" and "database went away" in status["error"]
    assert 'data-testid="audit-failed"' in client.get(f"/auditor/audits/{job}").get_data(as_text=True)
    assert get_db(app).audit_state.find_one({"_id": "audit"})["running"] is None


def test_an_unknown_job_is_404(app, client, sealed_world, auditor_login):
    assert client.get("/auditor/audits/AUDIT-000042").status_code == 404
    assert client.get("/auditor/audits/AUDIT-000042/status").status_code == 404


def test_a_held_checkpoint_too_long_is_refused(app, client, sealed_world, auditor_login):
    response = client.post("/auditor/audits", data={"held": "x" * 9000})
    assert response.status_code == 400
    assert get_db(app).audit_jobs.count_documents({}) == 0


@pytest.mark.integration
def test_only_one_of_many_simultaneous_starts_wins(app, monkeypatch):
    """Eight threads start an audit at once against the real server: exactly one is queued."""
    monkeypatch.setattr(ledger_audit, "submit", lambda *args, **kwargs: None)
    db = get_db(app)
    outcomes, barrier = [], threading.Barrier(8)

    def attempt():
        barrier.wait()
        with app.app_context():
            try:
                outcomes.append(ledger_audit.start(db, "AUD-0001")["_id"])
            except Conflict:
                outcomes.append("refused")
    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 7
    assert db.audit_state.find_one({"_id": "audit"})["running"] == winners[0]
    assert db.audit_jobs.count_documents({}) == 1


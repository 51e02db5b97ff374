"""Full audits of the app's chain as background jobs, one at a time across processes.

`run_audit` runs the library's streaming audit with the app's callbacks (models.sealing.
audit_callbacks) and the verifiers (the ledger key's public half, or the trust file after a
rotation). `audit_jobs` holds each job (state, progress, rate, ETA, report); `audit_state`
holds the single lock, claimed with one atomic update, so a second audit is refused in every
process. The audit runs in a long-lived runner thread, never in the request, and writes its
progress every batch, so a page reload (or another worker) sees it.

With AUDIT_WORKERS > 1 and a database other processes can open, the job is the audit on that
many processes (models.sealing.parallel_audit, as `flask ledger verify --workers`): the
same report, but no count of blocks until it ends, so a heartbeat keeps the job from being
taken for dead meanwhile.
"""
import logging
import math
import queue
import threading
import time
from dataclasses import asdict
from datetime import timedelta, timezone

from flask import current_app
from ledger.audit import audit
from ledger.store import DEFAULT_BATCH
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.core import clock, ids
from models.core.errors import Conflict, NotFound
from models.sealing import checkpoint_log, explorer, incremental_audit, parallel_audit, trust
from models.sealing.audit_callbacks import PREFETCH_WINDOW, AttributeSource, CoverageCheckAhead
from models.sealing.seam import store_for
from models.storage import authority
from models.storage.db import get_db

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LOCK_ID = "audit"
STALE_AFTER = timedelta(minutes=5)
"""A running audit whose heartbeat is older than this is taken to have died with its process."""
HEARTBEAT_SECONDS = 30
"""How often an audit on worker processes (which reports no progress) says it is alive."""
PROBLEMS_KEPT = 1000
"""Problems stored with a job (the library caps its own list too); the rest are counted."""
HISTORY = 10

INDEXES = {
    "audit_jobs": [([("number", 1)], {"unique": True})],
}


def run_audit(db, app=None, held_checkpoints=(), progress=None):
    """One full audit of the app's ledger, with the app's callbacks (the library's report).

    Blocks are read (and progress reported) in windows of AUDIT_BATCH heights, the documents
    behind them in windows of AUDIT_PREFETCH_WINDOW heights (the next one read ahead); the
    coverage and authority codes of the documents are read meanwhile by a thread.
    Besides the held checkpoints given, the chain must extend the latest checkpoint kept
    outside the database. A sound audit records the checkpoint an incremental audit may
    resume from.
    """
    app = app or current_app
    source = AttributeSource(db, app.extensions["medledger"]["data_key"],
                             app.config.get("AUDIT_PREFETCH_WINDOW", PREFETCH_WINDOW),
                             read_ahead=True)
    kept = checkpoint_log.latest(app)  # the latest signed checkpoint, kept outside MongoDB
    held = list(held_checkpoints) + ([kept] if kept and kept not in held_checkpoints else [])
    store = store_for(db)
    documents = CoverageCheckAhead(db, store.size_hint())
    try:
        report = audit(store, verifiers=trust.verifiers(app), attribute_source=source,
                       document_check=documents, held_checkpoints=held,
                       block_check=authority.keyring(app).block_authentic,
                       progress=progress, batch=app.config.get("AUDIT_BATCH", DEFAULT_BATCH))
    finally:
        source.close()
        documents.close()
    incremental_audit.record_anchor(db, report)  # where `verify --since-last` resumes
    return report


def summarize(report):
    """The report as stored with a job: verdict, counts per kind, the first problems."""
    problems = report.problems
    by_kind = {}
    for problem in problems:
        by_kind[problem.kind] = by_kind.get(problem.kind, 0) + 1
    return {
        "ok": report.ok, "size": report.size, "root": report.root,
        "blocks_checked": report.blocks_checked, "checkpoints_checked": report.checkpoints_checked,
        "first_failing_height": report.first_failing_height, "elapsed": round(report.elapsed, 3),
        "offline_note": report.offline_note, "by_kind": by_kind,
        "problem_count": len(problems) + report.problems_not_listed,
        "problems": [asdict(p) for p in problems[:PROBLEMS_KEPT]],
        "verdict": report.verdict(),
    }


# Jobs ----------------------------------------------------------------------------------------

def job_id(number):
    return f"AUDIT-{number:06d}"


def get_job(db, job):
    doc = db.audit_jobs.find_one({"_id": job})
    if doc is None:
        raise NotFound("There is no such audit.")
    return doc


def state(db):
    return db.audit_state.find_one({"_id": LOCK_ID}) or {"_id": LOCK_ID, "running": None}


def running_job(db):
    current = state(db)
    return db.audit_jobs.find_one({"_id": current["running"]}) if current.get("running") else None


def last_finished(db):
    current = state(db)
    last = current.get("last_finished")
    return db.audit_jobs.find_one({"_id": last}) if last else None


def recent_jobs(db, count=HISTORY):
    """The latest jobs by number (equality lookups on the counter's last values)."""
    counter = db.counters.find_one({"_id": "audit_job"})
    last = int(counter["n"]) if counter else 0
    found = [db.audit_jobs.find_one({"_id": job_id(n)})
             for n in range(last, max(0, last - count), -1)]
    return [doc for doc in found if doc is not None]


def _stale(current, now):
    beat = current.get("heartbeat")
    if beat is not None and beat.tzinfo is None:
        beat = beat.replace(tzinfo=timezone.utc)
    return beat is None or now - beat > STALE_AFTER


def _claim(db, new_job, now):
    """Take the single audit lock for `new_job`, or raise Conflict naming the running one."""
    try:
        claimed = db.audit_state.find_one_and_update(
            {"_id": LOCK_ID, "running": None},
            {"$set": {"running": new_job, "heartbeat": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:
        claimed = None
    if claimed is not None:
        return
    current = state(db)
    if current.get("running") and _stale(current, now):
        taken = db.audit_state.find_one_and_update(
            {"_id": LOCK_ID, "running": current["running"], "heartbeat": current.get("heartbeat")},
            {"$set": {"running": new_job, "heartbeat": now}})
        if taken is not None:
            db.audit_jobs.update_one(
                {"_id": current["running"], "state": {"$in": [QUEUED, RUNNING]}},
                {"$set": {"state": FAILED, "finished_at": now,
                          "error": "interrupted: its process stopped sending progress"}})
            return
    raise Conflict(f"An audit is already running ({current.get('running')}); wait for it to "
                   "finish. Its progress is shown on the audit page.")


def start(db, requested_by, held_checkpoints=(), app=None):
    """Queue a full audit (one at a time, across processes) and hand it to the runner."""
    app = app or current_app._get_current_object()
    number = ids.next_number(db, "audit_job")
    new_job, now = job_id(number), clock.now()
    _claim(db, new_job, now)
    total = explorer.chain_size(db)
    doc = {"_id": new_job, "number": number, "state": QUEUED, "requested_by": requested_by,
           "created_at": now, "started_at": None, "finished_at": None, "total": total,
           "done": 0, "rate": None, "eta_seconds": None, "held_checkpoints": len(held_checkpoints),
           "report": None, "error": None}
    db.audit_jobs.insert_one(doc)
    submit(app, new_job, held_checkpoints)
    return doc


def _release(db, job, now):
    db.audit_state.update_one({"_id": LOCK_ID, "running": job},
                              {"$set": {"running": None, "heartbeat": now, "last_finished": job}})


def execute(app, job, held_checkpoints=()):
    """Run one queued job to the end (in the runner thread; tests may call it directly)."""
    with app.app_context():
        db = get_db(app)
        expected = get_job(db, job)["total"]
        db.audit_jobs.update_one({"_id": job}, {"$set": {"state": RUNNING, "started_at": clock.now()}})
        started = time.monotonic()

        def progress(done, total):
            now = clock.now()
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = done / elapsed
            total = max(total, done, expected)
            eta = (total - done) / rate if rate > 0 else None
            db.audit_jobs.update_one({"_id": job}, {"$set": {
                "done": done, "total": total, "rate": round(rate, 1),
                # Rounded up to 0.1 s: while blocks remain, "0.0 s left" would be wrong.
                "eta_seconds": math.ceil(eta * 10) / 10 if eta is not None else None}})
            db.audit_state.update_one({"_id": LOCK_ID, "running": job}, {"$set": {"heartbeat": now}})

        try:
            report = _full_audit(db, app, held_checkpoints, progress)
        except Exception as exc:  # noqa: BLE001 - the job must end failed, never hang "running"
            log.exception("audit %s failed", job)
            now = clock.now()
            db.audit_jobs.update_one({"_id": job}, {"$set": {
                "state": FAILED, "finished_at": now, "error": f"{type(exc).__name__}: {exc}"[:500]}})
            _release(db, job, now)
            return
        now = clock.now()
        elapsed = max(time.monotonic() - started, 1e-6)
        db.audit_jobs.update_one({"_id": job}, {"$set": {
            "state": DONE, "finished_at": now, "done": report.blocks_checked,
            "total": max(report.blocks_checked, report.size), "eta_seconds": 0,
            "rate": round(report.blocks_checked / elapsed, 1), "report": summarize(report)}})
        _release(db, job, now)
        log.info("audit %s: %s", job, "sound" if report.ok else "problems found")


def _full_audit(db, app, held_checkpoints, progress):
    """The job's audit: on AUDIT_WORKERS processes when they can open the database."""
    workers = app.config.get("AUDIT_WORKERS", 1)
    register = app.extensions.get("medledger", {}).get("register_events")
    if workers < 2 or register is None or not parallel_audit.workers_can_reach(app):
        return run_audit(db, app, held_checkpoints, progress)
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(stop, progress), name="audit-heartbeat",
                            daemon=True)
    beat.start()
    try:
        return parallel_audit.run(db, app, workers, held_checkpoints, register,
                                  full_audit=run_audit)
    finally:
        stop.set()
        beat.join()


def _beat(stop, progress):
    while not stop.wait(HEARTBEAT_SECONDS):
        progress(0, 0)


class AuditRunner:
    """A long-lived daemon thread per process that runs queued audits one after another.

    It is started once and kept while there is work; after IDLE_SECONDS without a job it
    stops, and the next audit starts a new one.
    """

    IDLE_SECONDS = 300

    def __init__(self, app):
        self.app = app
        self.jobs = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="audit-runner", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                job, held = self.jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with _runner_lock:
                    if self.jobs.empty():
                        self.app.extensions["medledger"].pop("audit_runner", None)
                        return
                continue
            try:
                execute(self.app, job, held)
            finally:
                self.jobs.task_done()


_runner_lock = threading.Lock()


def submit(app, job, held_checkpoints=()):
    """Hand a job to this process's runner (under the lock an idle runner exits with)."""
    with _runner_lock:
        state_ = app.extensions.setdefault("medledger", {})
        if "audit_runner" not in state_:
            state_["audit_runner"] = AuditRunner(app)
        state_["audit_runner"].jobs.put((job, list(held_checkpoints)))


def progress_view(doc):
    """The JSON the page polls: state, progress, rate, ETA and, when done, the verdict."""
    if doc is None:
        return {"state": None}
    total = doc.get("total") or 0
    out = {"job": doc["_id"], "state": doc["state"], "done": doc.get("done", 0), "total": total,
           "percent": round(100 * doc.get("done", 0) / total, 1) if total else
           (100.0 if doc["state"] == DONE else 0.0),
           "rate": doc.get("rate"), "eta_seconds": doc.get("eta_seconds"),
           "error": doc.get("error")}
    report = doc.get("report")
    if report:
        out.update(ok=report["ok"], problem_count=report["problem_count"],
                   first_failing_height=report["first_failing_height"])
    return out

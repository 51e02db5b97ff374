"""The app's side of a full audit: where the library finds attributes and documents, and the
background job that runs one audit at a time with its progress in the database.

- attribute source: the rebuild functions registered in `models/sealed.py`, given the data
  key. A failed AES-GCM tag is tampering at that block; a creating event whose document is
  gone is `missing-document`. Documents are read a window of heights at a time (one indexed
  range query per kind and window, `sealed.PREFETCH`) instead of one lookup per block.
- document check: the `COVERAGE` registry; a document with no sealing height (or one past
  the end of the chain) is `unsealed-document`.
- verifiers: the ledger key's public half, or the trust file after a rotation.
- jobs: `audit_jobs` holds each job (state, progress, rate, ETA, report); `audit_state`
  holds the single lock, claimed with one atomic update, so a second audit is refused in
  every process. The audit runs in a long-lived runner thread, never in the request, and
  writes its progress every batch, so a page reload (or another worker) sees it.
"""
import logging
import math
import queue
import threading
import time
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from flask import current_app
from ledger.audit import AttributeSourceError, Problem, audit
from ledger.store import DEFAULT_BATCH
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import ids, ledger_explorer, ledger_trust, sealed
from models.crypto import TamperedCiphertext
from models.errors import Conflict, NotFound
from models.ledger_service import store_for

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LOCK_ID = "audit"
STALE_AFTER = timedelta(minutes=5)
"""A running audit whose heartbeat is older than this is taken to have died with its process."""
PROBLEMS_KEPT = 1000
"""Problems stored with a job (the library caps its own list too); the rest are counted."""
HISTORY = 10

DOCUMENT_KINDS = {
    "record.created": "records", "record.amended": "records", "record.read": "record_reads",
    "access.requested": "access_requests", "access.approved": "grants",
    "access.granted": "grants", "emergency.access": "emergencies", "account.verified": "users",
}
"""Events that create a document: their block must find it, or the document was removed."""

INDEXES = {
    "audit_jobs": [([("number", 1)], {"unique": True})],
}
PREFETCH_WINDOW = 2000
"""Heights per prefetch window: one range query per kind amortised over this many blocks, and
at most this many documents per kind held at once (memory stays flat however long the chain)."""


def utcnow():
    return datetime.now(timezone.utc)


# What the library calls back into ------------------------------------------------------------

class AttributeSource:
    """Rebuilds each block's attributes and salts from the database as it is now.

    For a kind with a prefetch companion, the first block at or past the end of its current
    window opens the next one, [height, height + window), read in one range query per kind;
    a window is dropped as soon as the audit has passed it. The rebuild falls back to its own
    lookup for anything the window does not hold (a deleted or edited document), so the
    findings are those of a lookup per block.
    """

    def __init__(self, db, data_key, window=PREFETCH_WINDOW):
        self.db, self.data_key, self.window = db, data_key, window
        self.windows = {}  # prefetch fn -> (lo, hi, {height: document})
        self.first_end = None  # the lowest `hi` of the windows held

    def __call__(self, block):
        kind, height = block.get("kind"), block.get("height")
        if self.first_end is not None and isinstance(height, int) and height >= self.first_end:
            self._drop_passed(height)
        rebuild = sealed.ATTRIBUTE_SOURCES.get(kind)
        if rebuild is None:
            return None
        prefetched = self._prefetched(kind, height)
        try:
            if prefetched is None:
                found = rebuild(self.db, block, self.data_key)
            else:
                found = rebuild(self.db, block, self.data_key, prefetched=prefetched)
        except AttributeSourceError:
            raise
        except TamperedCiphertext:
            raise AttributeSourceError(
                "attribute-mismatch", "AES-GCM tag check failed: the encrypted payload or its "
                "binding (record id, version) was altered") from None
        except Exception as exc:  # noqa: BLE001 - tampered data may break any reader
            raise AttributeSourceError(
                "attribute-mismatch", f"the sealed document cannot be read back "
                f"({type(exc).__name__})") from None
        if found is None and kind in DOCUMENT_KINDS:
            raise AttributeSourceError(
                "missing-document", f"the {DOCUMENT_KINDS[kind]} document this {kind} block "
                "seals is missing")
        return found

    def _prefetched(self, kind, height):
        """The window of documents holding `height` for this kind (read now if need be), or
        None (no companion, batching off, or a height behind the window: plain lookups)."""
        prefetch = sealed.PREFETCH.get(kind)
        if prefetch is None or self.window < 1 or not isinstance(height, int) \
                or isinstance(height, bool):
            return None
        lo, hi, found = self.windows.get(prefetch, (0, 0, None))
        if found is not None and lo <= height < hi:
            return found
        if height < hi:
            return None
        try:
            found = prefetch(self.db, height, height + self.window)
        except Exception as exc:  # noqa: BLE001 - unreadable data: each block reads its own
            log.warning("audit: reading the %s documents sealed at %d.. in one query failed "
                        "(%s); looking them up one by one", kind, height, type(exc).__name__)
            found = {}
        self.windows[prefetch] = (height, height + self.window, found)
        self.first_end = min(hi for _, hi, _ in self.windows.values())
        return found

    def _drop_passed(self, height):
        """Forget the windows the audit has moved past (memory stays flat)."""
        self.windows = {fn: held for fn, held in self.windows.items() if held[1] > height}
        self.first_end = min((hi for _, hi, _ in self.windows.values()), default=None)


class CoverageCheck:
    """Documents that must be sealed but name no block (or a block past the chain's end)."""

    def __init__(self, db):
        self.db = db
        self.size = 0

    def on_block(self, block):
        height = block.get("height")
        if isinstance(height, int) and height >= self.size:
            self.size = height + 1
        return ()

    def finish(self):
        problems = []
        claimed = bytearray(self.size // 8 + 1)  # one bit per height: flat memory
        shared = set()
        for collection, doc_id, height in self._covered():
            if height is None:
                problems.append(Problem("unsealed-document", None,
                                        f"{collection} {doc_id} has no ledger block",
                                        record=str(doc_id)))
            elif not isinstance(height, int) or not 0 <= height < self.size:
                named = height if isinstance(height, int) and height >= 0 else None
                problems.append(Problem("unsealed-document", named,
                                        f"{collection} {doc_id} names block {height!r}, "
                                        f"which is not on the chain of {self.size} blocks",
                                        record=str(doc_id)))
            elif claimed[height >> 3] & (1 << (height & 7)):
                shared.add(height)
            else:
                claimed[height >> 3] |= 1 << (height & 7)
        return problems + self._shared_blocks(shared)

    def _covered(self):
        for covered in sealed.COVERAGE:
            yield from covered(self.db)

    def _shared_blocks(self, heights):
        """A block seals one event: a second document naming it (a copy of a read log entry,
        say, whose attributes match the block as well as the original's) is unsealed."""
        if not heights:
            return []
        claimants = {}
        for collection, doc_id, height in self._covered():  # second pass, only when needed
            if isinstance(height, int) and height in heights:
                claimants.setdefault(height, []).append(f"{collection} {doc_id}")
        return [Problem("unsealed-document", height,
                        f"{len(names)} documents name block {height}, which seals one event: "
                        + "; ".join(names), record=names[-1])
                for height, names in sorted(claimants.items())]


def run_audit(db, app=None, held_checkpoints=(), progress=None):
    """One full audit of the app's ledger, with the app's hooks (the library's report).

    Blocks are read (and progress reported) in windows of AUDIT_BATCH heights, the documents
    behind them in windows of AUDIT_PREFETCH_WINDOW heights.
    """
    app = app or current_app
    source = AttributeSource(db, app.extensions["medledger"]["data_key"],
                             app.config.get("AUDIT_PREFETCH_WINDOW", PREFETCH_WINDOW))
    return audit(store_for(db), verifiers=ledger_trust.verifiers(app), attribute_source=source,
                 document_check=CoverageCheck(db), held_checkpoints=list(held_checkpoints),
                 progress=progress, batch=app.config.get("AUDIT_BATCH", DEFAULT_BATCH))


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
    new_job, now = job_id(number), utcnow()
    _claim(db, new_job, now)
    total = ledger_explorer.chain_size(db)
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
        from models.db import get_db
        db = get_db(app)
        expected = get_job(db, job)["total"]
        db.audit_jobs.update_one({"_id": job}, {"$set": {"state": RUNNING, "started_at": utcnow()}})
        clock = time.monotonic()

        def progress(done, total):
            now = utcnow()
            elapsed = max(time.monotonic() - clock, 1e-6)
            rate = done / elapsed
            total = max(total, done, expected)
            eta = (total - done) / rate if rate > 0 else None
            db.audit_jobs.update_one({"_id": job}, {"$set": {
                "done": done, "total": total, "rate": round(rate, 1),
                # Rounded up to 0.1 s: while blocks remain, "0.0 s left" would be wrong.
                "eta_seconds": math.ceil(eta * 10) / 10 if eta is not None else None}})
            db.audit_state.update_one({"_id": LOCK_ID, "running": job}, {"$set": {"heartbeat": now}})

        try:
            report = run_audit(db, app, held_checkpoints, progress)
        except Exception as exc:  # noqa: BLE001 - the job must end failed, never hang "running"
            log.exception("audit %s failed", job)
            now = utcnow()
            db.audit_jobs.update_one({"_id": job}, {"$set": {
                "state": FAILED, "finished_at": now, "error": f"{type(exc).__name__}: {exc}"[:500]}})
            _release(db, job, now)
            return
        now = utcnow()
        elapsed = max(time.monotonic() - clock, 1e-6)
        db.audit_jobs.update_one({"_id": job}, {"$set": {
            "state": DONE, "finished_at": now, "done": report.blocks_checked,
            "total": max(report.blocks_checked, report.size), "eta_seconds": 0,
            "rate": round(report.blocks_checked / elapsed, 1), "report": summarize(report)}})
        _release(db, job, now)
        log.info("audit %s: %s", job, "sound" if report.ok else "problems found")


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

"""Pushing checkpoints to witnesses: parties the app's operators do not control that cosign
each checkpoint only if it extends the last one they cosigned (ledger.witness).

Configured by LEDGER_WITNESSES: entries separated by ";", each "<url> <cosigner key>", e.g.
`http://10.1.2.3:8099/ witness.example.org/w1+1a2b3c4d+BASE64`. After each checkpoint, a
runner thread in this process sends it with its consistency proof to every witness, retrying
on connection errors (it never blocks a request). Cosignatures are kept per witness and size;
receipts and exports carry them; a witness that refuses (the history it saw was rewritten) is
an alarm on the auditor's overview.
"""
import atexit
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

from flask import current_app
from ledger.merkle import consistency_ranges
from ledger.notes import NoteError
from ledger.witness import CosignerKey, WitnessError, request_body

from models.core import clock
from models.sealing import proofs
from models.storage.db import get_db

log = logging.getLogger(__name__)

STATE = "ledger_witnesses"
COSIGNATURES = "ledger_cosignatures"
ALARMS = "ledger_alarms"
ATTEMPTS = 4
TIMEOUT = 10
INDEXES = {COSIGNATURES: [([("size", 1)], {})]}


class ConfigProblem(RuntimeError):
    """LEDGER_WITNESSES does not parse: the app refuses to start rather than push nowhere."""


class Configured:
    """One entry of LEDGER_WITNESSES: where to send checkpoints and whose cosignature to expect."""

    def __init__(self, url, key):
        self.url, self.key = url.rstrip("/") + "/add-checkpoint", key

    @property
    def name(self):
        return self.key.name


def configured(app):
    """The witnesses in LEDGER_WITNESSES (checked at startup: see ConfigProblem)."""
    found = []
    for entry in (app.config.get("LEDGER_WITNESSES") or "").split(";"):
        if not entry.strip():
            continue
        url, _, vkey = entry.strip().partition(" ")
        if not url.startswith(("http://", "https://")):
            raise ConfigProblem(f"LEDGER_WITNESSES: {url!r} is not an http(s) URL")
        try:
            found.append(Configured(url, CosignerKey.parse(vkey)))
        except (WitnessError, NoteError) as exc:
            raise ConfigProblem(f"LEDGER_WITNESSES: bad cosigner key for {url}: {exc}") from None
    return found


def consistency_proof(db, old, new):
    """PROOF(old, D[new]) from the cached subtree roots (RFC 9162 §2.1.4.1)."""
    return [proofs.range_root(db, lo, hi) for lo, hi in consistency_ranges(old, new)]


def push(app, note, size):
    """Send one checkpoint to every configured witness (in the caller's thread)."""
    with app.app_context():
        db = get_db(app)
        for witness in configured(app):
            _push_one(db, witness, note, size)


def _post(witness, body):
    request = urllib.request.Request(witness.url, data=body, method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _push_one(db, witness, note, size):
    state = db[STATE].find_one({"_id": witness.name}) or {}
    old = min(int(state.get("size") or 0), size)
    for attempt in range(ATTEMPTS):
        proof = consistency_proof(db, old, size) if 0 < old < size else []
        try:
            status, text = _post(witness, request_body(old, proof, note))
        except OSError as exc:  # URLError, refused, timed out
            log.warning("witness %s unreachable (%s); retrying", witness.name, exc)
            time.sleep(min(2 ** attempt, 8))
            continue
        known = int(text.strip()) if status == 409 and text.strip().isdigit() else None
        if known is not None and known > size:
            return  # another process already brought it past this checkpoint
        if known is not None and known != old:
            old = known  # it holds another size than we thought: prove from there
            continue
        if status == 200:
            _keep(db, witness, note, size, text)
        else:
            _refused(db, witness, size, status, text)
        return
    log.warning("witness %s not reached for the checkpoint of size %s; the next checkpoint "
                "will catch it up", witness.name, size)


def _keep(db, witness, note, size, text):
    body = note[:note.rfind("\n\n") + 1]
    lines = [line for line in text.splitlines() if witness.key.verify(body, line) is not None]
    if not lines:
        _refused(db, witness, size, 200, "the reply carries no valid cosignature")
        return
    db[COSIGNATURES].update_one({"_id": f"{witness.name}:{size}"}, {"$set": {
        "witness": witness.name, "size": size, "note": note, "line": lines[0]}}, upsert=True)
    moved = db[STATE].update_one({"_id": witness.name, "size": {"$lt": size}},
                                 {"$set": {"size": size, "cosigned_at": clock.now()}})
    if not moved.matched_count:  # a first cosignature (never moves the size back)
        db[STATE].update_one({"_id": witness.name}, {"$setOnInsert": {
            "size": size, "cosigned_at": clock.now()}}, upsert=True)


def _refused(db, witness, size, status, text):
    log.critical("witness %s refused the checkpoint of size %s (HTTP %s): %s", witness.name,
                 size, status, text.strip()[:200])
    db[ALARMS].update_one({"_id": f"witness-refused:{witness.name}:{size}"}, {"$setOnInsert": {
        "kind": "witness-refused", "witness": witness.name, "height": size, "status": status,
        "detail": text.strip()[:200], "first_seen": clock.now()}}, upsert=True)


def status(db, chain_size, app=None):
    """[{name, url, size, lag, cosigned_at}] for the overview, one per configured witness."""
    rows = []
    for witness in configured(app or current_app):
        state = db[STATE].find_one({"_id": witness.name}) or {}
        size = state.get("size")
        rows.append({"name": witness.name, "url": witness.url, "size": size,
                     "cosigned_at": state.get("cosigned_at"),
                     "lag": chain_size - size if size is not None else None})
    return rows


def cosigned_note(db, above_height, app=None):
    """The newest witnessed checkpoint covering block `above_height`, with every configured
    witness's cosignature on it appended (None if no witness has cosigned one yet)."""
    names = [witness.name for witness in configured(app or current_app)]
    sizes = [(db[STATE].find_one({"_id": name}) or {}).get("size") or 0 for name in names]
    size = max(sizes, default=0)
    if size <= above_height:
        return None
    docs = list(db[COSIGNATURES].find({"size": size, "witness": {"$in": names}}))
    if not docs:
        return None
    note = docs[0]["note"]
    lines = [doc["line"] for doc in docs if doc["note"] == note]
    return note + "".join(f"{line}\n" for line in lines)


# The runner -----------------------------------------------------------------------------------

class Runner:
    """A daemon thread per process that pushes checkpoints one after another, so a slow or
    unreachable witness never holds up a request. A push lost to a crash is not lost for
    the witness: the next checkpoint is proved from the size the witness last cosigned."""

    def __init__(self, app):
        self.app = app
        self.jobs = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="witness-push", daemon=True)
        self.thread.start()
        atexit.register(self.drain)

    def _loop(self):
        while True:
            note, size = self.jobs.get()
            try:
                push(self.app, note, size)
            except Exception:  # noqa: BLE001 - a background push must never die silently
                log.exception("witness push failed")
            finally:
                self.jobs.task_done()

    def drain(self, timeout=30.0):
        """Wait (bounded) for the queued pushes, e.g. before a command-line process exits."""
        deadline = time.monotonic() + timeout
        while self.jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.jobs.unfinished_tasks


_runner_lock = threading.Lock()


def submit(app, note, size):
    """Hand a new checkpoint to this process's runner (nothing to do without witnesses)."""
    if not app.config.get("LEDGER_WITNESSES"):
        return None
    app = getattr(app, "_get_current_object", lambda: app)()  # the runner outlives the context
    with _runner_lock:
        state = app.extensions.setdefault("medledger", {})
        if "witness_runner" not in state:
            state["witness_runner"] = Runner(app)
    state["witness_runner"].jobs.put((note, size))
    return state["witness_runner"]

"""Signed checkpoints: made on demand and every N blocks / T seconds, listed, and compared
with a checkpoint an auditor kept outside the system.

A held checkpoint is what catches an insider who rewrote or truncated the whole chain and
recomputed every hash: they cannot sign a new root, so the current chain no longer extends it.
"""
import logging
from dataclasses import dataclass

from flask import current_app
from ledger.audit import Trust, check_consistency
from ledger.chain import CheckpointPolicy, Ledger
from ledger.merkle import CompactRange
from ledger.notes import Checkpoint, NoteError, read_note

from models.core.errors import InvalidInput, NotFound
from models.core import clock
from models.sealing import checkpoint_log, trust
from models.storage import authority
from models.storage.db import get_db
from models.sealing.seam import current_ledger, store_for

PER_PAGE = 50
MAX_NOTE_BYTES = 8192
NOT_A_NOTE = ("This is not a checkpoint note. A checkpoint note is the text downloaded from this "
              "page: the origin, the size and the root hash on three lines, a blank line, then "
              "one or more signature lines starting with “—”.")

log = logging.getLogger(__name__)


ALARMS = "ledger_alarms"


def create(db, app=None):
    """Sign the chain now, up to the first block the app did not append (an alarm); returns
    the latest stored checkpoint document."""
    app = app or current_app
    sign_authenticated(db, app, trust.signing_key(app), trust.origin(app))
    return store_for(db).latest_checkpoint()


def sign_authenticated(db, app, key, origin):
    """Sign as far as every block since the last checkpoint carries the app's code; a block
    without it stops the signature before it and raises an alarm. The note."""
    store = store_for(db)
    signed = store.latest_checkpoint_size()
    size = Ledger(store).size()
    for block in store.iter_blocks(max(signed, 0), size):
        if not authority.block_authentic(block, app):
            raise_alarm(db, block["height"])
            size = block["height"]
            break
    note = Ledger(store).checkpoint(key, origin, size=size)
    keep_outside(note, app)
    return note


def raise_alarm(db, height):
    """A block the app did not append: logged, kept for the auditor's overview, and never
    signed into a checkpoint."""
    log.critical("ledger alarm: block %s does not carry the app's authentication code; no "
                 "checkpoint will sign it", height)
    db[ALARMS].update_one({"_id": f"unauthenticated-block:{height}"},
                          {"$setOnInsert": {"kind": "unauthenticated-block", "height": height,
                                            "first_seen": clock.now()}}, upsert=True)


def alarms(db, limit=50):
    """The alarms raised so far, newest first (a short list)."""
    return sorted(db[ALARMS].find({}, limit=limit), key=lambda alarm: alarm["first_seen"],
                  reverse=True)


def keep_outside(note, app=None):
    """Every signed checkpoint also goes to the log on the app host (checkpoint_log)."""
    checkpoint_log.keep(note, parsed(note).size, app)


def after_seal(block):
    """The after-seal hook: checkpoint when CHECKPOINT_EVERY_BLOCKS blocks or
    CHECKPOINT_EVERY_SECONDS have passed. The event is already sealed, so a failure is logged,
    not raised: the next seal (or the auditor's "create now") tries again."""
    app = current_app._get_current_object()
    state = app.extensions.setdefault("medledger", {})
    policy = state.get("checkpoint_policy")
    if policy is None:
        policy = state["checkpoint_policy"] = CheckpointPolicy(
            every_blocks=app.config["CHECKPOINT_EVERY_BLOCKS"],
            every_seconds=app.config["CHECKPOINT_EVERY_SECONDS"])
    try:
        policy.maybe_checkpoint(current_ledger(), trust.signing_key(app), trust.origin(app),
                                size=block["height"] + 1,
                                sign=lambda key, origin: sign_authenticated(
                                    get_db(app), app, key, origin))
    except Exception:  # noqa: BLE001 - the block is written; never fail the request now
        log.exception("periodic checkpoint failed at height %s", block.get("height"))


def latest(db):
    return store_for(db).latest_checkpoint()


def page(db, before_size=None, per_page=PER_PAGE):
    """Checkpoints newest first, keyset on the indexed `size` (widening windows)."""
    store = store_for(db)
    hi = store.latest_checkpoint_size() + 1 if before_size is None else before_size
    found, width = [], per_page * 200
    while hi > 0 and len(found) <= per_page:
        lo = max(0, hi - width)
        found.extend(store.checkpoints.find({"size": {"$gte": lo, "$lt": hi}}))
        hi, width = lo, width * 4
    found.sort(key=lambda doc: (doc["size"], str(doc["_id"])), reverse=True)
    more = len(found) > per_page
    found = found[:per_page]
    return found, (found[-1]["size"] if more and found else None)


def get(db, checkpoint_id):
    doc = store_for(db).checkpoints.find_one({"_id": str(checkpoint_id)})
    if doc is None:
        raise NotFound("There is no such checkpoint.")
    return doc


def parsed(note):
    """The checkpoint in a stored note (origin, size, root, time) without checking signatures."""
    split = note.rfind("\n\n")
    try:
        return Checkpoint.parse_body(note[:split + 1])
    except NoteError:
        return None


@dataclass
class Verdict:
    extends: bool
    kind: str
    message: str
    held_size: int | None = None
    chain_size: int | None = None
    matches_up_to: int | None = None


def _read_note(raw):
    if isinstance(raw, bytes):
        if len(raw) > MAX_NOTE_BYTES:
            raise InvalidInput("A checkpoint note is a few lines; this file is too large.",
                               {"note": "This file is too large to be a checkpoint note."})
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("That file is not UTF-8 text.",
                               {"note": "That file is not a checkpoint note (not UTF-8 text)."}) from None
    text = (raw or "").replace("\r\n", "\n")
    if not text.strip():
        raise InvalidInput("Paste or upload a checkpoint note.",
                           {"note": "Paste or upload a checkpoint note."})
    if len(text) > MAX_NOTE_BYTES:
        raise InvalidInput("A checkpoint note is a few lines; this is too long.",
                           {"note": "This is too long to be a checkpoint note."})
    return text if text.endswith("\n") else text + "\n"


def _require_checkpoint_shape(note):
    """Junk pasted into the form is an input error, not evidence about the chain: only text
    shaped like a signed checkpoint (whatever its signatures say) gets a verdict."""
    try:
        body, _ = read_note(note)
        Checkpoint.parse_body(body)
    except NoteError:
        raise InvalidInput(NOT_A_NOTE, {"note": NOT_A_NOTE}) from None


def compare_held(db, raw_note, app=None):
    """Does the current chain extend this held checkpoint? If not, exactly why not."""
    app = app or current_app
    note = _read_note(raw_note)
    _require_checkpoint_shape(note)
    verifiers = trust.verifiers(app)
    report = check_consistency(store_for(db), note, verifiers)
    if report.ok:
        held = parsed(note)
        return Verdict(True, "extends", f"The current chain ({report.size} blocks) extends the "
                       f"held checkpoint of size {held.size}: nothing before height {held.size} "
                       "was changed or removed.", held.size, report.size)
    problem = report.problems[0]
    held = parsed(note)
    if problem.kind == "bad-signature":
        return Verdict(False, "bad-signature", "The held checkpoint's signature does not verify "
                       f"with the trusted keys ({problem.detail.split(': ', 1)[-1]}). "
                       "It was altered or not signed by this ledger.")
    if problem.kind == "truncated":
        return Verdict(False, "truncated", f"The chain was truncated: it has {report.size} "
                       f"blocks but the held checkpoint shows {held.size}. Blocks from height "
                       f"{report.size} on were removed.", held.size, report.size)
    if problem.kind == "inconsistent-with-checkpoint":
        good = _last_matching_checkpoint(db, held.size, verifiers)
        return Verdict(False, "rewritten", f"The chain was rewritten since height {good}: its "
                       f"first {good} blocks still match a signed checkpoint, but it no longer "
                       f"extends the held checkpoint of size {held.size}, so at least one block "
                       f"in heights {good}..{held.size - 1} was changed.",
                       held.size, report.size, good)
    return Verdict(False, problem.kind, f"The chain cannot be checked against the held "
                   f"checkpoint: {problem.detail}.", held.size if held else None, report.size)


def _last_matching_checkpoint(db, below_size, verifiers):
    """The largest stored, validly signed checkpoint size <= below_size that the current
    chain still matches, found in one streaming pass over the blocks (never a cache: this
    is evidence about the chain as it is stored now)."""
    trusted = Trust(verifiers)
    signed = {}
    for doc in store_for(db).iter_checkpoints():
        try:
            cp = trusted.open(doc["note"])
        except (NoteError, KeyError, TypeError, AttributeError):
            continue
        if 0 < cp.size <= below_size:
            signed.setdefault(cp.size, set()).add(cp.root)
    best, tree = 0, CompactRange()
    if not signed:
        return best
    for doc in store_for(db).iter_blocks(0, max(signed)):
        if doc.get("height") != tree.size:
            break
        try:
            tree.append(bytes.fromhex(doc["hash"]))
        except (KeyError, TypeError, ValueError):
            break
        if tree.size in signed and tree.root() in signed[tree.size]:
            best = tree.size
    return best

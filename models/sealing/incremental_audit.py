"""`flask ledger verify --since-last`: audit only what was appended since the last audit.

After every sound audit (full, or incremental) the newest stored checkpoint it covered is
recorded as the anchor (`audit_state` document `since_last`). The next incremental audit
resumes from that checkpoint's signed compact range (ledger.incremental) with the app's
hooks (attributes, block MACs) and checks the tail and every later checkpoint.

No anchor, or one that does not verify (gone, unsigned, peaks that do not fold to the signed
root): the full audit runs instead, and the verdict says why. A forged anchor can therefore
only cost time, never hide a block after it. Blocks below the anchor edited in place are
not seen here: the weekly full audit covers them (docs/scaling.md).
"""
from ledger.incremental import AnchorError, audit_since

from models.core import clock
from models.sealing import checkpoint_log, trust
from models.sealing.audit_callbacks import AttributeSource
from models.sealing.seam import store_for
from models.storage import authority

ANCHOR_ID = "since_last"


def record_anchor(db, report, mode="full"):
    """After a sound audit: the newest stored checkpoint within the audited chain."""
    if not report.ok or not report.size:
        return None
    found = list(store_for(db).checkpoints.find({"size": {"$lte": report.size}})
                 .sort([("size", -1)]).limit(1))
    if not found:
        return None
    anchor = {"checkpoint": found[0]["_id"], "size": found[0]["size"], "mode": mode,
              "at": clock.now()}
    db.audit_state.update_one({"_id": ANCHOR_ID}, {"$set": anchor}, upsert=True)
    return anchor


def _anchor_checkpoint(db):
    marker = db.audit_state.find_one({"_id": ANCHOR_ID})
    if marker is None:
        raise AnchorError("no audit has been recorded yet")
    return store_for(db).checkpoints.find_one({"_id": marker.get("checkpoint")})


def run_since_last(db, app, held_checkpoints=(), full_audit=None):
    """The incremental audit; the full one (`full_audit(db, app, held)`) if no anchor holds."""
    kept = checkpoint_log.latest(app)
    held = list(held_checkpoints) + ([kept] if kept and kept not in held_checkpoints else [])
    try:
        report = audit_since(
            store_for(db), _anchor_checkpoint(db), verifiers=trust.verifiers(app),
            attribute_source=AttributeSource(db, app.extensions["medledger"]["data_key"]),
            held_checkpoints=held, block_check=authority.keyring(app).block_authentic)
    except AnchorError as e:
        report = full_audit(db, app, held_checkpoints=held_checkpoints)
        reason = f"since-last: {e}; ran the full audit instead"
        report.offline_note = "; ".join(filter(None, [reason, report.offline_note]))
        return report
    record_anchor(db, report, mode="incremental")
    return report

"""What the ledger keeps of an admission: the attributes each `admission.*` block seals, how
the audit rebuilds them from the admission document, which documents must be covered, and
how reconcile finishes a change a crash cut short (models.sealing.registry).

One admission holds several blocks: admitted, one per movement, then discharged and summary
linked, or entered in error.
The latest movement keeps its block's height and salts in `seals.transferred` (the fixed
path the seam records); the next transfer copies them onto that movement in the same
update, so every movement's block can still be rebuilt.
"""
from models.core.clock import ts
from models.people import users
from models.sealing import registry
from models.sealing.registry import EventKind

ADMITTED_KIND, TRANSFERRED_KIND = "admission.admitted", "admission.transferred"
DISCHARGED_KIND, SUMMARY_KIND = "admission.discharged", "admission.summary_linked"
ERROR_KIND = "admission.entered_in_error"
DISCHARGED, ENTERED_IN_ERROR = "discharged", "entered-in-error"

# Attributes ------------------------------------------------------------------------------

def _salts(doc, event):
    return ((doc.get("seals") or {}).get(event) or {}).get("salts") or {}


def admitted_attributes(doc):
    entry = doc.get("admitted") or {}
    return {"admission": doc["admission_id"], "patient": doc["patient_id"],
            "organization": doc["org_id"], "ward": entry.get("ward"), "bed": entry.get("bed"),
            "attending": doc["attending"], "admitted_at": ts(doc["admitted_at"]),
            "admitted_by": entry.get("by"), "reason_sha256": entry.get("reason_sha256")}


def movement_attributes(doc, move):
    return {"admission": doc["admission_id"], "move": move["seq"],
            "from_ward": move["from_ward"], "from_bed": move["from_bed"],
            "ward": move["ward"], "bed": move["bed"], "at": ts(move["at"]), "by": move["by"]}


def discharged_attributes(doc):
    out = doc.get("discharge") or {}
    return {"admission": doc["admission_id"], "status": doc["status"], "ward": doc["ward"],
            "bed": doc["bed"], "discharged_at": ts(out.get("at")),
            "destination": out.get("destination"), "by": out.get("by")}


def error_attributes(doc):
    error = doc.get("error") or {}
    return {"admission": doc["admission_id"], "status": doc["status"], "by": error.get("by"),
            "at": ts(error.get("at")), "reason_sha256": error.get("reason_sha256")}


def summary_attributes(doc):
    summary = doc.get("summary") or {}
    return {"admission": doc["admission_id"], "record": summary.get("record_id"),
            "author": summary.get("by"), "linked_at": ts(summary.get("at"))}


# Ledger: rebuilds, coverage, reconcile ----------------------------------------------------------

def _named(db, block, prefetched):
    admission_id = (block.get("subject") or {}).get("admission")
    if not isinstance(admission_id, str):
        return None
    doc = registry.take(prefetched, block,
                        lambda doc: registry.same(doc.get("admission_id"), admission_id))
    return doc if doc is not None else db.admissions.find_one({"admission_id": admission_id})


def rebuild_admitted(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    return (admitted_attributes(doc), _salts(doc, "admitted")) if doc else None


def rebuild_transferred(db, block, data_key, prefetched=None):
    """The movement the block sealed: the latest one (its height in `seals.transferred`) or an
    earlier one (its height and salts kept on the movement)."""
    doc = _named(db, block, prefetched)
    seq = (block.get("subject") or {}).get("move")
    if doc is None or not isinstance(seq, int):
        return None
    moves = doc.get("movements") or []
    if not 1 <= seq <= len(moves):
        return None
    move = moves[seq - 1]
    salts = _salts(doc, "transferred") if seq == len(moves) else move.get("salts") or {}
    return movement_attributes(doc, move), salts


def movements_sealed_in(db, lo, hi):
    """The prefetch companion of `admission.transferred`: {height: admission} for every
    movement sealed in [lo, hi), the latest (`seals.transferred.height`) and earlier ones
    (`movements.height`), in one range query; a height two documents claim is left out."""
    found, seen = {}, set()
    window = {"$gte": lo, "$lt": hi}
    for doc in db.admissions.find({"$or": [{"seals.transferred.height": window},
                                           {"movements.height": window}]}):
        latest = ((doc.get("seals") or {}).get("transferred") or {}).get("height")
        heights = {move.get("height") for move in doc.get("movements") or []
                   if isinstance(move, dict)} | {latest}
        for height in heights:
            if isinstance(height, int) and not isinstance(height, bool) and lo <= height < hi:
                if height in seen:
                    found.pop(height, None)
                else:
                    found[height] = doc
                seen.add(height)
    return found


def rebuild_discharged(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    return (discharged_attributes(doc), _salts(doc, "discharged")) if doc else None


def rebuild_error(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    return (error_attributes(doc), _salts(doc, "entered_in_error")) if doc else None


def rebuild_summary(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    return (summary_attributes(doc), _salts(doc, "summary_linked")) if doc else None


def admission_coverage(db):
    for doc in db.admissions.find({}, {"admission_id": 1, "status": 1, "sealed_height": 1,
                                       "seals": 1, "movements": 1, "summary": 1}):
        yield "admissions", doc["admission_id"], doc.get("sealed_height")
        moves = doc.get("movements") or []
        for move in moves[:-1]:
            yield "admissions", f"{doc['admission_id']} move {move['seq']}", move.get("height")
        if moves:
            yield ("admissions", f"{doc['admission_id']} move {moves[-1]['seq']}",
                   registry.field_of(doc, "seals.transferred.height"))
        if doc.get("status") == DISCHARGED:
            yield ("admissions", f"{doc['admission_id']} discharged",
                   registry.field_of(doc, "seals.discharged.height"))
        if doc.get("status") == ENTERED_IN_ERROR:
            yield ("admissions", f"{doc['admission_id']} entered in error",
                   registry.field_of(doc, "seals.entered_in_error.height"))
        if doc.get("summary"):
            yield ("admissions", f"{doc['admission_id']} summary",
                   registry.field_of(doc, "seals.summary_linked.height"))


def _subject(doc):
    return {"admission": doc["admission_id"]}


def _move_subject(doc):
    return {"admission": doc["admission_id"], "move": len(doc.get("movements") or [])}


def _by(path):
    def actor(db, doc):
        value = doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, list):
            value = value[-1].get("by") if value else None
        return users.by_human_id(db, value or "")
    return actor


def _latest_move(db, key, doc):
    moves = doc.get("movements") or []
    return (movement_attributes(doc, moves[-1]), _salts(doc, "transferred")) if moves else None


EVENTS = (
    EventKind(ADMITTED_KIND, "admissions", "sealed_height", rebuild_admitted,
              creates_document=True, subject=_subject, salts_at="seals.admitted.salts",
              also_at=("seals.admitted.height",), actor=_by("admitted.by"),
              sealed=lambda db, key, doc: (admitted_attributes(doc), _salts(doc, "admitted"))),
    EventKind(TRANSFERRED_KIND, "admissions", "seals.transferred.height", rebuild_transferred,
              prefetch=movements_sealed_in, subject=_move_subject, salts_at="seals.transferred.salts", actor=_by("movements"),
              sealed=_latest_move,
              label=lambda doc: f"{doc['admission_id']} move {len(doc.get('movements') or [])}"),
    EventKind(DISCHARGED_KIND, "admissions", "seals.discharged.height", rebuild_discharged,
              subject=_subject, salts_at="seals.discharged.salts", actor=_by("discharge.by"),
              sealed=lambda db, key, doc: (discharged_attributes(doc), _salts(doc, "discharged")),
              label=lambda doc: f"{doc['admission_id']} discharged"),
    EventKind(SUMMARY_KIND, "admissions", "seals.summary_linked.height", rebuild_summary,
              subject=_subject, salts_at="seals.summary_linked.salts", actor=_by("summary.by"),
              sealed=lambda db, key, doc: (summary_attributes(doc),
                                           _salts(doc, "summary_linked")),
              label=lambda doc: f"{doc['admission_id']} summary"),
    EventKind(ERROR_KIND, "admissions", "seals.entered_in_error.height", rebuild_error,
              subject=_subject, salts_at="seals.entered_in_error.salts", actor=_by("error.by"),
              sealed=lambda db, key, doc: (error_attributes(doc), _salts(doc, "entered_in_error")),
              label=lambda doc: f"{doc['admission_id']} entered in error"),
)
COVERAGE = (admission_coverage,)

"""Operator exports (`flask fhir export`), each sealed once as `record.fhir_exported`.

An operator's export is not a reader's read: the operator holds the database and the data key
already, and ten thousand patients' records are not ten thousand reads by a person. So no
`record.read` is sealed per record; instead one block per export says what left the system:
which patient (or all), how many patients, resources per type, bytes, the SHA-256 of the
output (of the Bundle, or of each NDJSON file), who ran it (the operating-system account) and
when. Anyone holding the file can check it against the block. No clinical value is sealed.
"""
from models.core.clock import now_ms, ts
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import new_salts, pending_fields, seal_pending

EXPORTED = "record.fhir_exported"
ALL = "all"


def attributes(entry):
    found = {"scope": entry["scope"], "patients": entry["patients"], "bytes": entry["bytes"],
             "sha256": entry["sha256"], "operator": entry["operator"], "at": ts(entry["at"])}
    for kind, count in sorted(entry["counts"].items()):
        found[f"count.{kind}"] = count
    for name, digest in sorted(entry.get("files", {}).items()):
        found[f"file.{name}"] = digest
    return found


def seal_export(db, *, scope, patients, counts, size, sha256, operator, files=None):
    """Log and seal one finished export (the entry first, pending, then its block: a crash
    between them is finished by reconcile from the entry)."""
    entry = {"scope": scope, "patients": patients, "counts": dict(counts), "bytes": size,
             "sha256": sha256, "files": dict(files or {}), "operator": operator,
             "at": now_ms(), "sealed_height": None}
    salts = new_salts(attributes(entry))
    entry["_id"] = db.fhir_exports.insert_one(
        pending_fields(entry, EXPORTED, salts)).inserted_id
    seal_pending(db, EXPORTED, entry, None, attributes(entry), salts)
    return entry


def rebuild(db, block, data_key, prefetched=None):
    """The entry the block sealed (prefetched by the audit's window, else one lookup)."""
    height = block.get("height")
    entry = registry.take(prefetched, block,
                          lambda doc: registry.same(doc.get("sealed_height"), height)) \
        or db.fhir_exports.find_one({"sealed_height": height})
    return (attributes(entry), entry.get("seal_salts") or {}) if entry else None


def label(entry):
    return f"FHIR export {entry['scope']} {entry['_id']}"


def coverage(db):
    for entry in db.fhir_exports.find({}, {"sealed_height": 1, "scope": 1}):
        yield "fhir_exports", label(entry), entry.get("sealed_height")


EVENTS = (EventKind(EXPORTED, "fhir_exports", "sealed_height", rebuild, creates_document=True,
                    subject=lambda entry: {"export": str(entry["_id"]), "scope": entry["scope"]},
                    salts_at="seal_salts", actor=lambda db, entry: None,
                    sealed=lambda db, key, entry: (attributes(entry),
                                                   entry.get("seal_salts") or {}),
                    label=label),)
COVERAGE = (coverage,)

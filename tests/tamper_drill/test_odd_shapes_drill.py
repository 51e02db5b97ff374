"""An insider may write any BSON shape into any field: the full audit and reconcile must
still finish and report, never crash (a crash is a failed audit job: the tampering goes
unreported). Every field of a document of every collection of a populated world (the
drills' world plus the demo seed: appointments, research) is in turn removed or given a
value the app never writes there (the shapes taken in turn, one per field, to keep the
drill to ~30 s), and both run on the result.

Found by this drill (each crashed the audit): salts or `seals` that are no mapping, an
unhashable authority key id or block kind, a non-integer tip hint, a deciding field holding
a Decimal128.
"""
import pytest
from bson import Decimal128

from models.sealing import audit_jobs, reconcile
from models.storage.db import get_db

UNSET = object()
ODD = (UNSET, Decimal128("1"), ["x"])
"""Removed; a BSON type with no JSON form (and unhashable); a list where a string, a number
or a mapping belongs (unhashable too)."""
SKIPPED = ("audit_jobs", "audit_state")  # the audit's own bookkeeping, rewritten by each run
MAPS = ("fields", "salts", "seal_salts")
"""Maps of one value per attribute (field MACs, salts): each is tampered as a whole; one
entry's value changed is a drill of its own (tests/tamper_drill/test_tamper_drills.py)."""


def paths(doc):
    """Every field, and the fields of embedded documents two levels down."""
    for key, value in doc.items():
        if key == "_id":
            continue
        yield key
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                yield f"{key}.{sub}"
                if isinstance(subvalue, dict) and sub not in MAPS:
                    yield from (f"{key}.{sub}.{leaf}" for leaf in subvalue)


def tamper(collection, doc, path, value):
    change = {"$unset": {path: ""}} if value is UNSET else {"$set": {path: value}}
    collection.update_one({"_id": doc["_id"]}, change)


def _audit_and_reconcile(app, db, key):
    """The report, or None where mongomock (not the app) cannot run the queries."""
    try:
        report = audit_jobs.run_audit(db, app)
        reconcile.reconcile(db, key, fix=False)
    except NotImplementedError as exc:  # mongomock cannot sort mixed types; a server can
        assert "Mongomock" in str(exc), exc
        return None
    return report


def test_no_shape_in_any_field_crashes_the_audit_or_reconcile(rich_world):
    app = rich_world.app
    tried, unsound, not_here = 0, set(), set()
    with app.app_context():
        db, key = get_db(), app.extensions["medledger"]["data_key"]
        assert audit_jobs.run_audit(db, app).ok
        tampers = [(name, doc, path) for name in sorted(set(db.list_collection_names())
                                                        - set(SKIPPED))
                   for doc in [db[name].find_one()] if doc is not None
                   for path in paths(doc)]
        for turn, (name, doc, path) in enumerate(tampers):
            try:
                tamper(db[name], doc, path, ODD[turn % len(ODD)])
            except TypeError:  # mongomock cannot hash a Decimal128 in a unique index
                not_here.add((name, path))
                continue
            report = _audit_and_reconcile(app, db, key)
            db[name].replace_one({"_id": doc["_id"]}, doc)
            if report is None:
                not_here.add((name, path))
                continue
            tried += 1
            if not report.ok:
                unsound.add((name, path.split(".")[0]))
        assert audit_jobs.run_audit(db, app).ok  # every document was put back
    assert tried > 300 and len(not_here) < 20, sorted(not_here)
    # The drill reaches what decides and what is sealed: each of these was reported.
    for collection in ("grants", "access_requests", "records", "users", "appointments"):
        assert (collection, "auth") in unsound or (collection, "seals") in unsound, collection
    assert ("grants", "seals") in unsound and ("records", "sealed_height") in unsound

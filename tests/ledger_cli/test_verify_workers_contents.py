"""`flask ledger verify --workers N` checks what the full audit checks: block codes and the
attributes behind each block in the workers (models/sealing/contents_workers.py), coverage and
authority codes at the end, and on any finding hands over to the full audit."""
import pytest
from ledger.store import DEFAULT_BATCH

from models.sealing import audit_callbacks, contents_workers
from models.sealing.seam import store_for
from models.storage import authority
from models.storage.db import get_db
from tests.auditor_support import populate


def checked_heights(app, key):
    """Stream the chain through a worker's checking store; the height it stops at, if any."""
    db = get_db(app)
    store = contents_workers.CheckingStore(store_for(db), db, key, authority.keyring(app), 3)
    seen = []
    try:
        for doc in store.iter_blocks(0, None, DEFAULT_BATCH):
            seen.append(doc["height"])
    except contents_workers.ContentsFinding:
        return seen, len(seen)
    return seen, None


def test_the_worker_store_stops_at_a_tampered_record_or_block(app, sealed_world):
    made = populate(sealed_world)
    with app.app_context():
        db = get_db(app)
        size = store_for(db).size_hint()
        assert checked_heights(app, sealed_world.key) == (list(range(size)), None)
        record = next(iter(made["records"].values()))
        db.records.update_one({"_id": record["_id"]}, {"$set": {"type": "lab"}})
        seen, stopped = checked_heights(app, sealed_world.key)
        assert stopped == record["sealed_height"] and seen == list(range(stopped))
        db.records.update_one({"_id": record["_id"]}, {"$set": {"type": record["type"]}})
        db.ledger_blocks.update_one({"_id": 2}, {"$set": {"mac": "k:forged"}})
        assert checked_heights(app, sealed_world.key)[1] == 2


def test_a_source_error_is_a_finding(app, sealed_world, monkeypatch):
    populate(sealed_world)

    def broken(self, block):
        raise audit_callbacks.AttributeSourceError("missing-document", "gone")

    monkeypatch.setattr(audit_callbacks.AttributeSource, "__call__", broken)
    with app.app_context():
        assert checked_heights(app, sealed_world.key)[1] == 0


@pytest.mark.integration
def test_workers_check_contents_and_name_problems_like_the_full_audit(app, runner,
                                                                      sealed_world):
    made = populate(sealed_world)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    sound = runner.invoke(args=["ledger", "verify", "--workers", "2"])
    assert sound.exit_code == 0 and sound.output.startswith("SOUND: "), sound.output
    assert "not checked" not in sound.output
    record = next(iter(made["records"].values()))
    with app.app_context():
        get_db(app).records.update_one({"_id": record["_id"]}, {"$set": {"type": "lab"}})
    full = runner.invoke(args=["ledger", "verify", "--quiet"])
    tampered = runner.invoke(args=["ledger", "verify", "--workers", "2", "--quiet"])
    assert tampered.exit_code == full.exit_code == 1
    assert tampered.output == full.output
    assert "attribute-mismatch" in full.output and "unauthenticated-document" in full.output

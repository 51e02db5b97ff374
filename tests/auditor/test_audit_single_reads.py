"""The full audit reads each record document as few times as it can: the coverage and the
authority check share one read of `records`, and the next window of documents is read ahead
in a worker thread. Neither may change what the audit finds."""
import threading
from collections import Counter

import pytest

from models.clinical import records
from models.sealing import audit_callbacks, registry
from models.sealing.seam import store_for
from models.storage.db import get_db
from tests.auditor.test_batched_source import CountingDb


def ten_records(world):
    return [world.write(world.doctor, "general") for _ in range(10)]


def tamper(db, written):
    """A forged envelope (authority fails), a version with no block, one naming a far block."""
    db.records.update_one({"_id": written[2]["_id"]}, {"$set": {"author_role": "admin"}})
    db.records.update_one({"_id": written[5]["_id"]}, {"$unset": {"sealed_height": ""}})
    db.records.update_one({"_id": written[7]["_id"]}, {"$set": {"sealed_height": 10 ** 6}})


def finish(db, size):
    check = audit_callbacks.CoverageCheck(db)
    check.size = size
    return [problem.to_dict() for problem in check.finish()]


def test_records_are_read_once_for_coverage_and_authority(app, sealed_world, monkeypatch):
    written = ten_records(sealed_world)
    with app.app_context():
        db = get_db()
        tamper(db, written)
        size = store_for(db).size_hint()
        counting = CountingDb(db)
        shared = finish(counting, size)
        assert counting.counts[("records", "find")] == 1, counting.counts
        # The same problems, in the same order, as a coverage read and an authority read.
        plain = [(lambda db, check=check: check(db))
                 if isinstance(check, registry.DocumentCoverage) else check
                 for check in registry.COVERAGE]
        monkeypatch.setattr(registry, "COVERAGE", plain)
        counting = CountingDb(db)
        apart = finish(counting, size)
        assert counting.counts[("records", "find")] == 2, counting.counts
    assert shared == apart
    named = {(p["kind"], p["record"]) for p in shared}
    labels = [records.version_label(doc) for doc in written]
    assert {("unauthenticated-document", labels[2]), ("unsealed-document", labels[5]),
            ("unsealed-document", labels[7])} <= named


class ThreadCountingDb:
    """The database, counting the range queries made in the audit's own thread."""

    def __init__(self, db):
        self._db, self.mine, self.audit_thread = db, Counter(), threading.current_thread()

    def __getitem__(self, name):
        if threading.current_thread() is self.audit_thread:
            self.mine[name] += 1
        return self._db[name]


def created_blocks(db):
    return [block for block in store_for(db).iter_blocks(0, None)
            if block["kind"] == records.CREATED]


@pytest.mark.parametrize("window", [3, 4, 10])
def test_windows_read_ahead_tile_the_heights_and_find_the_same(app, sealed_world, window):
    written = ten_records(sealed_world)
    with app.app_context():
        db = get_db()
        db.records.update_one({"_id": written[window % 10]["_id"]},
                              {"$set": {"author_role": "admin"}})
        blocks = created_blocks(db)
        plain = audit_callbacks.AttributeSource(db, sealed_world.key, window=0)
        expected = [plain(block) for block in blocks]
        counting = ThreadCountingDb(db)
        source = audit_callbacks.AttributeSource(counting, sealed_world.key, window=window,
                                                 read_ahead=True)
        found = []
        for block in blocks:
            found.append(source(block))
            [(lo, hi, _)] = source.windows.values()
            assert lo <= block["height"] < hi == lo + window
        source.close()
        assert source.reader is None
    assert found == expected
    # The audit's thread read the first window only (no lookup either): every later window
    # was read ahead, by the worker, while the audit checked the one before.
    assert counting.mine == Counter({"records": 1}), counting.mine

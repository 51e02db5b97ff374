"""The stored tip height alone is evidence of truncation (issue 18).

An attacker who deletes the tail of a chain that has no checkpoints (none stored, none held)
leaves only the tip hint behind: the audit must still report `truncated`, on both stores.
"""
import pytest

from ledger.audit import audit
from ledger.chain import HINT_EVERY
from ledger.store import MemoryStore, MongoStore


def kinds_at(report):
    return [(p.kind, p.height, p.height_end) for p in report.problems]


@pytest.fixture(params=["memory", "mongo"])
def chain20(request, make_chain, mongo_db):
    store = MemoryStore() if request.param == "memory" else MongoStore(mongo_db)
    store.ensure_indexes()
    return make_chain(store, 20, seed=7)


def delete(store, heights):
    for h in heights:
        if isinstance(store, MemoryStore):
            store.raw_delete(h)
        else:
            store.blocks.delete_one({"_id": h})


def test_chain_without_checkpoints_is_sound_with_its_tip(chain20):
    assert chain20.store.tip_hint() == HINT_EVERY == 16  # the hint is written every 16 heights
    report = audit(chain20.store)
    assert report.ok and report.size == 20


def test_tail_deleted_without_checkpoints_is_reported_by_the_tip(chain20):
    delete(chain20.store, range(10, 20))
    report = audit(chain20.store)
    assert kinds_at(report) == [("truncated", 10, 16)]
    assert "tip hint shows size 17" in report.problems[0].detail
    assert report.size == 10 and not report.ok


def test_a_chain_ending_just_before_the_hinted_tip_is_truncated(chain20):
    """The hint names a block that existed: a chain of exactly that size lacks it."""
    delete(chain20.store, range(16, 20))
    assert kinds_at(audit(chain20.store)) == [("truncated", 16, 16)]


def test_a_tip_hint_past_a_larger_checkpoint_claim_wins(chain20, key):
    """Both are evidence; the report names the larger claimed size."""
    chain20.ledger.checkpoint(key, "medledger.test/log")  # signs size 20
    chain20.store.set_tip_hint(24)  # as if 5 more blocks had been written
    delete(chain20.store, range(12, 20))
    report = audit(chain20.store, verifiers=[key.public()])
    assert kinds_at(report) == [("truncated", 12, 24)]
    assert "tip hint shows size 25" in report.problems[0].detail


def test_a_store_whose_hint_fails_still_gets_audited(chain20):
    """A broken hint is no evidence either way: the audit goes on without it."""
    class NoHint:
        def __init__(self, store):
            self._store = store

        def __getattr__(self, name):
            return getattr(self._store, name)

        def tip_hint(self):
            raise RuntimeError("meta collection unavailable")

    delete(chain20.store, range(10, 20))
    report = audit(NoHint(chain20.store))
    assert report.ok and report.size == 10

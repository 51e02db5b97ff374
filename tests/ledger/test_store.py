"""The store interface, identical in memory and in MongoDB, and the shape of every query."""

import pytest

from ledger.block import ZERO_HASH, make_block, make_header
from ledger.store import HeightTaken, MemoryStore, MongoStore


def block(height, prev=None):
    header = make_header(height=height, prev_hash=ZERO_HASH if height == 0 else (prev or "ab" * 32),
                         kind="record.created", subject={"record": f"R{height}"}, actor="a",
                         attr_root="cd" * 32, attr_count=0, timestamp="2026-01-01T00:00:00.000Z")
    return make_block(header, [])


@pytest.fixture(params=["memory", "mongomock"])
def store(request, mongo_db):
    if request.param == "memory":
        return MemoryStore()
    s = MongoStore(mongo_db, prefix="t")
    s.ensure_indexes()
    return s


def test_insert_get_and_height_taken(store):
    store.insert_block(block(0))
    assert store.get_block(0)["height"] == 0
    assert store.get_block(1) is None
    with pytest.raises(HeightTaken) as info:
        store.insert_block(block(0))
    assert info.value.height == 0


@pytest.mark.parametrize("batch", [1, 3, 7, 100])
def test_iter_blocks_in_height_order_in_windows(store, batch):
    for h in [5, 0, 3, 1, 2, 4, 6, 7, 8, 9, 10]:
        store.insert_block(block(h))
    store.set_tip_hint(10)
    assert [d["height"] for d in store.iter_blocks(batch=batch)] == list(range(11))
    assert [d["height"] for d in store.iter_blocks(3, 8, batch=batch)] == [3, 4, 5, 6, 7]
    assert list(store.iter_blocks(11, 20, batch=batch)) == []


def test_iter_blocks_reads_past_a_stale_tip_hint(store):
    for h in range(12):
        store.insert_block(block(h))
    store.set_tip_hint(2)  # writers update the hint lazily
    assert [d["height"] for d in store.iter_blocks(batch=4)] == list(range(12))


def test_iter_blocks_walks_over_a_gap_wider_than_a_window(store):
    for h in list(range(3)) + list(range(20, 23)):
        store.insert_block(block(h))
    store.set_tip_hint(22)
    assert [d["height"] for d in store.iter_blocks(batch=4)] == [0, 1, 2, 20, 21, 22]


def test_tip_hint_only_moves_forward(store):
    assert store.tip_hint() == -1
    store.set_tip_hint(7)
    store.set_tip_hint(3)
    assert store.tip_hint() == 7


def test_checkpoints_in_size_order_and_latest(store):
    assert store.latest_checkpoint() is None
    assert store.latest_checkpoint_size() == -1
    assert store.save_checkpoint("note-10", 10, key_id="aa", root="00" * 32)
    assert store.save_checkpoint("note-5", 5, key_id="aa")
    assert store.save_checkpoint("note-10b", 10, key_id="bb")
    assert not store.save_checkpoint("again", 10, key_id="aa")  # one per size and key
    assert [(d["size"], d["note"]) for d in store.iter_checkpoints()] == [
        (5, "note-5"), (10, "note-10"), (10, "note-10b")]
    assert store.latest_checkpoint()["size"] == 10
    assert store.latest_checkpoint_size() == 10


def test_ensure_indexes_is_idempotent_and_makes_height_unique(mongo_db):
    store = MongoStore(mongo_db, prefix="x")
    store.ensure_indexes()
    store.ensure_indexes()
    info = store.blocks.index_information()
    assert info["height_1"]["key"] == [("height", 1)] and info["height_1"]["unique"]
    store.insert_block(block(0))
    other = block(1)
    other["height"] = 0
    with pytest.raises(HeightTaken):
        store.insert_block(other)


def test_collection_names_follow_the_prefix(mongo_db):
    store = MongoStore(mongo_db, prefix="audit")
    assert (store.blocks.name, store.meta.name, store.checkpoints.name) == (
        "audit_blocks", "audit_meta", "audit_checkpoints")


class Spy:
    """Wraps a collection and records every read, to review the query shapes."""

    def __init__(self, collection, log):
        self._c, self._log = collection, log

    def __getattr__(self, name):
        target = getattr(self._c, name)
        if name in ("find", "find_one", "aggregate", "count_documents",
                    "estimated_document_count", "distinct"):
            def call(*args, **kwargs):
                self._log.append((name, args, kwargs))
                result = target(*args, **kwargs)
                return SpyCursor(result, self._log) if name == "find" else result
            return call
        return target


class SpyCursor:
    def __init__(self, cursor, log):
        self._cursor, self._log = cursor, log

    def __getattr__(self, name):
        if name in ("sort", "hint", "skip", "limit"):
            self._log.append((f"cursor.{name}", (), {}))
        return getattr(self._cursor, name)

    def __iter__(self):
        return iter(self._cursor)


def _is_equality_on_id(filter_):
    return set(filter_) == {"_id"} and isinstance(filter_["_id"], int)


def _bounded_height_range(filter_, batch):
    if set(filter_) != {"height"} or not isinstance(filter_["height"], dict):
        return False
    bounds = filter_["height"]
    return set(bounds) == {"$gte", "$lt"} and 0 < bounds["$lt"] - bounds["$gte"] <= batch


def test_block_reads_are_id_equalities_or_bounded_height_ranges(mongo_db):
    """Code review as a test: no sort, no `_id` range, no open range, no count on blocks."""
    from ledger.chain import Ledger
    log = []
    store = MongoStore(mongo_db, prefix="spy")
    store.ensure_indexes()
    store.blocks = Spy(store.blocks, log)
    ledger = Ledger(store)
    for i in range(30):
        ledger.append("record.created", {"record": f"R{i}"}, "a", {}, {})
    ledger.tip()
    list(store.iter_blocks(batch=8))
    list(store.iter_blocks(5, 25, batch=8))
    ledger.log_root(30)
    ledger.inclusion_proof(7, 30)
    assert log, "the spy saw no reads"
    ranges = 0
    for name, args, kwargs in log:
        assert name in ("find", "find_one"), name
        filter_ = args[0] if args else kwargs.get("filter")
        assert "sort" not in kwargs
        if _bounded_height_range(filter_, 5000):
            ranges += 1
        else:
            assert _is_equality_on_id(filter_), filter_
    assert ranges >= 4


@pytest.mark.integration
def test_height_index_serves_the_range_queries_on_the_server(secantus_db):
    store = MongoStore(secantus_db)
    store.ensure_indexes()
    store.ensure_indexes()
    docs, prev = [], None
    for h in range(6000):
        doc = block(h, prev)
        prev = doc["hash"]
        docs.append(doc)
    store.insert_blocks(docs)
    store.set_tip_hint(5999)
    assert secantus_db["ledger_blocks"].index_information()["height_1"]["unique"]
    plan = store.blocks.find({"height": {"$gte": 100, "$lt": 200}}).explain()
    assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"])
    assert "height_1" in str(plan["queryPlanner"]["winningPlan"])
    heights = [d["height"] for d in store.iter_blocks(batch=2000)]
    assert heights == list(range(6000))

"""Ledger fixtures: keys, chains with a known attribute source, and a real DB server.

The ledger is standalone, so nothing here imports the app: `ledger_db_uri` starts its own
SecantusDB server (once per session) and stops it by PID.
"""
import random
from datetime import datetime, timedelta, timezone

import mongomock
import pymongo
import pytest

from ledger.attributes import new_salt
from ledger.chain import Ledger
from ledger.notes import SigningKey
from ledger.store import MemoryStore, MongoStore

ORIGIN = "medledger.test/log"
KINDS = ("record.created", "record.amended", "access.requested", "access.approved",
         "record.read", "emergency.access", "account.verified")


def pytest_configure(config):
    # pytest.ini declares these; registering them here too keeps this folder runnable alone.
    for marker in ("integration: needs the embedded SecantusDB server",
                   "slow: long randomized or scale runs"):
        config.addinivalue_line("markers", marker)


class StepClock:
    """A deterministic clock: each call is 1 ms after the previous one."""

    def __init__(self, start=datetime(2026, 1, 1, tzinfo=timezone.utc)):
        self.now = start

    def __call__(self):
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def key():
    return SigningKey.from_seed("medledger-test", bytes(range(32)))


@pytest.fixture
def other_key():
    return SigningKey.from_seed("medledger-other", bytes(range(1, 33)))


def random_attributes(rng: random.Random, count: int) -> tuple[dict, dict]:
    """`count` attributes of mixed canonical types, with one fresh salt each."""
    names = rng.sample(["blood_group", "diagnosis", "dose_mg", "note", "sex", "weight_kg",
                        "allergy", "ward", "code", "flag", "dob", "result", "unit"], count)
    values = [rng.choice(["A+", "0-", "72.5", "Müller", "", "x" * 20]), rng.randint(-10**6, 10**6),
              rng.random() < 0.5, None, ["a", 1], {"k": "v"}]
    attributes = {name: rng.choice(values) for name in names}
    return attributes, {name: new_salt() for name in attributes}


class Chain:
    """A ledger plus the app-side data an attribute source would decrypt."""

    def __init__(self, store, clock=None):
        self.store = store
        self.ledger = Ledger(store, clock=clock or StepClock())
        self.data = {}  # (record, version) -> (attributes, salts)

    def append(self, rng, index, kind=None):
        attributes, salts = random_attributes(rng, rng.randint(1, 10))
        subject = {"record": f"PAT-{index:06d}-R1", "version": rng.randint(1, 3)}
        doc = self.ledger.append(kind or rng.choice(KINDS), subject, f"actor-{rng.randint(1, 5)}",
                                 attributes, salts)
        self.data[(subject["record"], subject["version"])] = (attributes, salts)
        return doc

    def source(self, doc):
        """The attribute source: the data stored for the block's subject (None if unknown)."""
        subject = doc.get("subject")
        if not isinstance(subject, dict):
            return None
        return self.data.get((subject.get("record"), subject.get("version")))


def build_chain(store, n, rng=None, seed=0) -> Chain:
    rng = rng or random.Random(seed)
    chain = Chain(store)
    for i in range(n):
        chain.append(rng, i)
    return chain


@pytest.fixture
def memory_chain():
    return build_chain(MemoryStore(), 40, seed=1)


@pytest.fixture
def mongo_db():
    client = mongomock.MongoClient()
    yield client.ledger_test
    client.close()


@pytest.fixture
def mongo_store(mongo_db):
    store = MongoStore(mongo_db)
    store.ensure_indexes()
    return store


@pytest.fixture(scope="session")
def ledger_db_uri(embedded_uri):
    """The session's SecantusDB server over real TCP (started and stopped by tests/conftest.py)."""
    return embedded_uri


@pytest.fixture
def secantus_db(ledger_db_uri, request):
    """A fresh database on the session's server for one test (dropped afterwards)."""
    name = "ledger_" + "".join(ch for ch in request.node.name if ch.isalnum())[:40]
    client = pymongo.MongoClient(ledger_db_uri)
    client.drop_database(name)
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def make_chain():
    """build_chain(store, n, rng=None, seed=0) -> Chain, for tests that need several chains."""
    return build_chain


@pytest.fixture
def step_clock():
    return StepClock()

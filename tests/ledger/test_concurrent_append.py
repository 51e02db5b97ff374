"""Several OS processes append to one chain through a real MongoDB wire connection.

Each writer is a separate Python process (not a thread), on its own pymongo connection to the
embedded server, racing for the same next heights. The unique `_id` decides each race; the
losers re-read and retry. Afterwards the chain must be one unbroken line with every writer's
events in it exactly once.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest

from ledger.audit import audit
from ledger.store import MongoStore

WRITERS = 4
PER_WRITER = 500

# Attributes and salts are derived from (writer, i), so the test can rebuild the app's data.
WORKER = r"""
import base64, hashlib, json, sys, time
import pymongo
from ledger.chain import Ledger
from ledger.store import HeightTaken, MongoStore

uri, db_name, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def salt(*parts):
    return base64.b64encode(hashlib.sha256("/".join(parts).encode()).digest()[:16]).decode()

class Counting(MongoStore):
    conflicts = 0
    def insert_block(self, doc):
        try:
            super().insert_block(doc)
        except HeightTaken:
            Counting.conflicts += 1
            raise

client = pymongo.MongoClient(uri)
ledger = Ledger(Counting(client[db_name]))
started = time.time()
for i in range(count):
    attributes = {"writer": tag, "seq": i, "note": f"event {i} of {tag}"}
    salts = {name: salt(tag, str(i), name) for name in attributes}
    ledger.append("record.read", {"record": f"{tag}-{i}", "version": 1}, tag, attributes, salts)
print(json.dumps({"tag": tag, "conflicts": Counting.conflicts, "started": started,
                  "finished": time.time()}))
"""


def _salt(*parts):
    return base64.b64encode(hashlib.sha256("/".join(parts).encode()).digest()[:16]).decode()


def _source(doc):
    tag, i = doc["subject"]["record"].rsplit("-", 1)
    attributes = {"writer": tag, "seq": int(i), "note": f"event {i} of {tag}"}
    return attributes, {name: _salt(tag, i, name) for name in attributes}


@pytest.mark.integration
def test_processes_appending_at_once_build_one_unbroken_chain(ledger_db_uri, secantus_db):
    MongoStore(secantus_db).ensure_indexes()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root}
    writers = [subprocess.Popen([sys.executable, "-c", WORKER, ledger_db_uri, secantus_db.name,
                                 f"w{n}", str(PER_WRITER)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=root)
               for n in range(WRITERS)]
    stats = []
    for process in writers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        stats.append(json.loads(out))
    total = WRITERS * PER_WRITER

    # The writers really overlapped and really collided.
    assert max(s["started"] for s in stats) < min(s["finished"] for s in stats)
    assert sum(s["conflicts"] for s in stats) > 0

    store = MongoStore(secantus_db)
    docs = list(store.iter_blocks(batch=700))
    assert [d["height"] for d in docs] == list(range(total))          # contiguous, no gap
    assert all(d["_id"] == d["height"] for d in docs)
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(docs, docs[1:]))  # no fork
    records = [d["subject"]["record"] for d in docs]
    expected = {f"w{n}-{i}" for n in range(WRITERS) for i in range(PER_WRITER)}
    assert len(records) == len(set(records)) == total and set(records) == expected  # none lost
    for n in range(WRITERS):  # each writer's own events stay in its order
        mine = [int(r.split("-")[1]) for r in records if r.startswith(f"w{n}-")]
        assert mine == sorted(mine)

    report = audit(store, attribute_source=_source, batch=700)
    assert report.ok, report.lines()
    assert report.blocks_checked == total

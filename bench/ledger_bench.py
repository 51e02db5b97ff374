"""Ledger benchmark: append, audit, memory, receipts, against a naive baseline.

    python bench/ledger_bench.py [--sizes 10000,100000,1000000] [--quick] [--embedded-max N]

For each size N (blocks of 10 attributes) it measures:
- append: Ledger.append blocks/s, at the start of an empty chain and at the end of the
  N-block chain (the ratio shows the cost per block is flat). The chain body in between is
  bulk-built with the same header/hash code (attribute leaf sets reused from a pool) so a
  10^6 chain builds in seconds; every block is still a real, linked, hashed block.
- full audit (no data key, i.e. all structural checks + log root + a signed checkpoint):
  blocks/s and tracemalloc peak (memory must stay flat as N grows);
- the same from the embedded SecantusDB server (started here on a free port, stopped by PID)
  for N <= --embedded-max (bulk-loaded with insert_many; appends there cost ~2 ms each, so
  embedded appends are measured on 2,000 blocks only);
- receipt size and verify time; a naive baseline (json.dumps per block + link walk).
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt  # noqa: E402
from ledger.audit import audit  # noqa: E402
from ledger.block import ZERO_HASH, block_hash  # noqa: E402
from ledger.chain import Ledger  # noqa: E402
from ledger.encoding import canonical  # noqa: E402
from ledger.notes import SigningKey  # noqa: E402
from ledger.receipt import make_receipt, verify_receipt  # noqa: E402
from ledger.store import MemoryStore, MongoStore  # noqa: E402

ORIGIN = "medledger.bench/log"
KEY = SigningKey.from_seed("medledger-bench", bytes(range(32)))
POOL = 256
APPENDS = 2000


def attributes(i):
    attrs = {f"attr_{j:02d}": f"value {i}-{j}" for j in range(10)}
    return attrs, {name: new_salt() for name in attrs}


def leaf_pool():
    pool = []
    for i in range(POOL):
        attrs, salts = attributes(i)
        leaves = attribute_leaf_hashes(attrs, salts)
        pool.append(([x.hex() for x in leaves], attribute_root(leaves).hex()))
    return pool


def bulk_build(store, n, start=0, prev=ZERO_HASH, pool=None):
    """Append blocks start..n-1 directly (same header and hash code as Ledger.append)."""
    pool = pool or leaf_pool()
    docs = []
    for h in range(start, n):
        leaves, root = pool[h % POOL]
        header = {"v": 1, "height": h, "prev_hash": prev,
                  "timestamp": f"2026-01-01T00:00:{h % 60:02d}.{h % 1000:03d}Z",
                  "kind": "record.created", "subject": {"record": f"PAT-{h:07d}-R1", "version": 1},
                  "actor": f"act-{h % 97}", "attr_root": root, "attr_count": 10}
        doc = dict(header)
        doc["_id"] = h
        doc["attr_leaves"] = leaves
        prev = doc["hash"] = block_hash(header).hex()
        docs.append(doc)
        if len(docs) == 10000:
            store.insert_blocks(docs)
            docs = []
    store.insert_blocks(docs)
    store.set_tip_hint(n - 1)
    return prev


def time_appends(ledger, count, offset):
    rows = [attributes(offset + i) for i in range(count)]
    started = time.perf_counter()
    for i, (attrs, salts) in enumerate(rows):
        ledger.append("record.read", {"record": f"PAT-{offset + i:07d}-R1", "version": 1},
                      "act-bench", attrs, salts)
    return count / (time.perf_counter() - started)


def naive_audit(docs):
    """What typical projects do: json.dumps each block (minus its hash) and walk the list."""
    import hashlib
    prev = ZERO_HASH
    bad = 0
    for doc in docs:
        body = {k: v for k, v in doc.items() if k != "hash"}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        bad += digest != doc["hash"]  # our hash format differs: the timing is what counts
        bad += doc["prev_hash"] != prev
        prev = doc["hash"]
    return bad


def measure_audit(store, n, memory=True):
    started = time.perf_counter()
    report = audit(store, verifiers=[KEY.public()])
    elapsed = time.perf_counter() - started
    assert report.ok and report.blocks_checked == n, report.lines()[:5]
    peak = None
    if memory:
        tracemalloc.start()
        audit(store, verifiers=[KEY.public()])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return n / elapsed, elapsed, peak


def measure_receipt(ledger, n):
    note = ledger.store.latest_checkpoint()["note"]
    height = n // 2
    doc = ledger.get(height)
    receipt = make_receipt(ledger, height, note)
    size = len(canonical(receipt))
    times = []
    for _ in range(300):
        started = time.perf_counter()
        ok, reason = verify_receipt(receipt, [KEY.public()])
        times.append(time.perf_counter() - started)
        assert ok, reason
    assert doc is not None
    return size, statistics.median(times) * 1000


class Server:
    """The embedded SecantusDB server on a free port, stopped by PID."""

    def __enter__(self):
        import pymongo
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="ledger-bench-")
        binary = os.path.join(os.path.dirname(sys.executable), "secantusd-py")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.process = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(self.port),
                                         "--storage-path", os.path.join(self.dir, "data"),
                                         "--log-level", "WARNING"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.client = pymongo.MongoClient(f"mongodb://127.0.0.1:{self.port}/?directConnection=true",
                                          serverSelectionTimeoutMS=500)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client.admin.command("ping")
                return self
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("embedded server did not start")
                time.sleep(0.2)

    def __exit__(self, *exc):
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def bench_memory(n, pool):
    row = {"n": n}
    store = MemoryStore()
    ledger = Ledger(store)
    row["append_start"] = time_appends(ledger, APPENDS, 0)
    started = time.perf_counter()
    prev = store.get_block(APPENDS - 1)["hash"]
    bulk_build(store, n, APPENDS, prev, pool)
    row["build_s"] = time.perf_counter() - started
    ledger = Ledger(store)
    row["append_end"] = time_appends(ledger, APPENDS, n)
    ledger.checkpoint(KEY, ORIGIN)
    total = n + APPENDS
    row["audit_rate"], row["audit_s"], row["audit_peak"] = measure_audit(store, total)
    docs = list(store.iter_blocks())
    started = time.perf_counter()
    naive_audit(docs)
    row["naive_s"] = time.perf_counter() - started
    del docs
    row["receipt_bytes"], row["receipt_ms"] = measure_receipt(ledger, total)
    return row, store


def bench_embedded(n, server, pool, memory):
    """Appends over the wire (start and end), a bulk-loaded body, then the audit."""
    row = {"n": n}
    db = server.client[f"bench_{n}"]
    server.client.drop_database(db.name)
    store = MongoStore(db)
    store.ensure_indexes()
    ledger = Ledger(store)
    row["append_start"] = time_appends(ledger, APPENDS, 0)
    started = time.perf_counter()
    bulk_build(store, n, APPENDS, store.get_block(APPENDS - 1)["hash"], pool)
    row["load_s"] = time.perf_counter() - started
    ledger = Ledger(store)
    row["append_end"] = time_appends(ledger, APPENDS, n)
    ledger.checkpoint(KEY, ORIGIN)
    row["audit_rate"], row["audit_s"], row["audit_peak"] = measure_audit(store, n + APPENDS,
                                                                         memory)
    server.client.drop_database(db.name)
    return row


def mb(value):
    return "-" if value is None else f"{value / 1e6:.2f} MB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--quick", action="store_true", help="10,000 blocks only")
    parser.add_argument("--embedded-max", type=int, default=100000,
                        help="largest size to load into the embedded server (default 100000)")
    parser.add_argument("--no-embedded", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the server by PID
    sizes = [10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    pool = leaf_pool()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; blocks of 10 attributes;"
          f" appends measured on {APPENDS} blocks at the start and at the end of each chain")
    rows, embedded = [], []
    server = None if args.no_embedded else Server().__enter__()
    try:
        for n in sizes:
            row, store = bench_memory(n, pool)
            rows.append(row)
            print(f"  memory {n:>9,}: {json.dumps({k: round(v, 3) for k, v in row.items()})}",
                  flush=True)
            if server and n <= args.embedded_max:
                erow = bench_embedded(n, server, pool, memory=n <= 100000)
                embedded.append(erow)
                print(f"  embedded {n:>7,}: "
                      f"{json.dumps({k: round(v, 3) for k, v in erow.items() if v is not None})}",
                      flush=True)
            del store
    finally:
        if server:
            server.__exit__(None, None, None)
    print()
    print("| blocks | store | append/s (start) | append/s (end) | cost/block end÷start | "
          "full audit blocks/s | audit time | audit peak memory | naive walk | "
          "audit/naive time | receipt | receipt verify |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        total = r["n"] + APPENDS
        print(f"| {total:,} | memory | {r['append_start']:,.0f} | {r['append_end']:,.0f} | "
              f"{r['append_start'] / r['append_end']:.2f} | {r['audit_rate']:,.0f} | "
              f"{r['audit_s']:.1f} s | {mb(r['audit_peak'])} | {r['naive_s']:.1f} s | "
              f"{r['audit_s'] / r['naive_s']:.1f}x | {r['receipt_bytes']:,} B | "
              f"{r['receipt_ms']:.2f} ms |")
    for r in embedded:
        total = r["n"] + APPENDS
        print(f"| {total:,} | embedded | {r['append_start']:,.0f} | {r['append_end']:,.0f} | "
              f"{r['append_start'] / r['append_end']:.2f} | {r['audit_rate']:,.0f} | "
              f"{r['audit_s']:.1f} s | {mb(r['audit_peak'])} | | | | |")
    skipped = [n for n in sizes if n > args.embedded_max]
    if skipped and server:
        print(f"\nembedded DB skipped for {', '.join(f'{n:,}' for n in skipped)} blocks: "
              f"bulk-loading costs ~0.4 ms per block on the embedded server "
              f"(use --embedded-max to include them)")
    print("cost/block end÷start = append rate at the start / at the end (1.0 = flat). Audit: all "
          "structural checks + log root + checkpoint signature; attribute contents need the "
          "app's data key and are not part of this number.")


if __name__ == "__main__":
    main()

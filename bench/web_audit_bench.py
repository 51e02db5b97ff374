"""The full audit through the auditor's page (background job) next to the library's own audit.

    python bench/web_audit_bench.py [--blocks 500000] [--records 0] [--prefetch-window N]
                                    [--also-unbatched] [--no-memory] [--rounds R]
                                    [--workers 1,2,4]

Starts its own embedded SecantusDB server (free port, temporary storage, stopped by PID),
creates the app on it, bulk-inserts N prebuilt, linked, hashed blocks of 10 attributes (plus
one signed checkpoint), then on that same store measures:

- library: `ledger.audit.audit(store, verifiers=...)` called directly;
- web: POST /auditor/audits as an auditor, the background job runs (`models.sealing.audit_jobs`,
  with the app's attribute source, coverage check and a progress write per batch) while the
  client polls the JSON status once a second like the page does, until the job is done.

Each is timed once and run once more under tracemalloc for its peak Python memory (that run
is slower and not timed). Target: the web rate within 20% of the library rate.

With --records M, M record versions are also bulk-inserted with real encrypted payloads and
their record.created blocks, and the web audit then decrypts and checks every one of them:
that row shows what checking attribute contents costs. The documents are read a window of
heights at a time (AUDIT_PREFETCH_WINDOW, one indexed range query per window);
--prefetch-window sets it (0: one lookup per block, as before batching), and
--also-unbatched times the web audit once more with 0, on the same data and server, for a
before/after comparison.

With --rounds R (and --records), the library's structural audit and the app's full audit with
contents (`audit_jobs.run_audit`, what the page's job runs) are alternated R times on the
same data, each round followed by the reads alone (every block; every record once in the
audit's window queries; the records once more as the coverage and authority pass reads
them): the contents ÷ structure ratio best against best and per round, beside the same ratio
of the reads alone, the ceiling the server sets (issue 16).

With --workers 1,2,4 the same full audit (contents, block codes, coverage) is also timed on
N spawned processes as `flask ledger verify --workers N` runs it (models.sealing.
parallel_audit.run: height ranges checked by the workers, coverage in this process), next to
the one-process `run_audit`; process start-up is included.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pymongo  # noqa: E402
from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt  # noqa: E402
from ledger.audit import audit  # noqa: E402
from ledger.block import ZERO_HASH, block_hash  # noqa: E402

from app import create_app  # noqa: E402
from bench.page_bench import process_cpu  # noqa: E402
from models.clinical import records  # noqa: E402
from models.people import users  # noqa: E402
from models import startup  # noqa: E402
from models.sealing import audit_callbacks, audit_jobs, checkpoints, registry, trust  # noqa: E402
from models.sealing import parallel_audit  # noqa: E402
from models.sealing.seam import store_for  # noqa: E402
from models.storage import authority, crypto  # noqa: E402
from models.storage.db import get_db  # noqa: E402
from models.storage.embedded import free_port, server_binary  # noqa: E402

POOL = 256
POLL_SECONDS = 0.1
"""The page polls once a second; polling that often here would add up to a second to a job
of a few seconds, so the wall time would measure the poll interval, not the audit."""
CHUNK = 10000
PASSWORD = "bench password 123"
STAMP = "2026-01-01T00:00:00.000Z"


class Server:
    """secantusd-py on a free port with its data in a temporary folder, stopped by PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="web-audit-bench-")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.process = subprocess.Popen(
            [server_binary(), "--host", "127.0.0.1", "--port", str(self.port), "--storage-path",
             os.path.join(self.dir, "data"), "--log-level", "WARNING"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        deadline = time.monotonic() + 30
        while True:
            try:
                with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=300) as probe:
                    probe.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("embedded server did not start")
                time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def leaf_pool():
    pool = []
    for i in range(POOL):
        attrs = {f"attr_{j:02d}": f"value {i}-{j}" for j in range(10)}
        leaves = attribute_leaf_hashes(attrs, {name: new_salt() for name in attrs})
        pool.append(([leaf.hex() for leaf in leaves], attribute_root(leaves).hex()))
    return pool


def block_doc(height, prev, kind, subject, leaves, root, actor="act-bench"):
    header = {"v": 1, "height": height, "prev_hash": prev, "timestamp": STAMP, "kind": kind,
              "subject": subject, "actor": actor, "attr_root": root, "attr_count": len(leaves)}
    doc = dict(header, _id=height, attr_leaves=leaves)
    doc["hash"] = block_hash(header).hex()
    doc["mac"] = authority.block_mac(doc["hash"])  # as the app appends it
    return doc


def seed_blocks(db, count, start, prev, pool, progress):
    """Prebuilt `bench.event` blocks (no app document behind them), bulk-inserted."""
    blocks, docs = store_for(db).blocks, []
    for height in range(start, start + count):
        leaves, root = pool[height % POOL]
        doc = block_doc(height, prev, "bench.event", {"bench": height}, leaves, root)
        prev = doc["hash"]
        docs.append(doc)
        if len(docs) == CHUNK:
            blocks.insert_many(docs, ordered=True)
            docs = []
            progress(height + 1)
    if docs:
        blocks.insert_many(docs, ordered=True)
    return prev


def seed_records(app, db, count, start, prev, author, patient):
    """Record versions with encrypted payloads and their record.created blocks."""
    key = app.extensions["medledger"]["data_key"]
    data = {"weight_kg": "72.5", "height_cm": "180.0", "blood_group_abo": "AB",
            "blood_group_rh": "-", "systolic_mmhg": 131, "diastolic_mmhg": 87,
            "heart_rate_bpm": 67, "temperature_c": "36.8", "spo2_percent": 97,
            "bmi": "22.4", "bmi_category": "Normal weight"}
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    docs, blocks = [], []
    for i in range(count):
        height = start + i
        record_id = f"{patient['human_id']}-R{i + 1}"
        doc = {"record_id": record_id, "version": 1, "patient_id": patient["human_id"],
               "type": "general", "author_id": author["human_id"], "author_role": author["role"],
               "author_name": author["name"], "org_id": author.get("org_id"),
               "created_at": created, "status": records.FINAL, "sensitivity": records.NORMAL,
               "supersedes": None, "superseded_by": None, "attachments": [], "rx_status": None,
               "sealed_height": height}
        attributes = records.sealed_attributes(doc, data)
        salts = {name: new_salt() for name in attributes}
        doc["box"] = crypto.encrypt(key, record_id, 1, {"data": data, "salts": salts})
        leaves = attribute_leaf_hashes(attributes, salts)
        block = block_doc(height, prev, records.CREATED, {"record": record_id, "version": 1},
                          [leaf.hex() for leaf in leaves], attribute_root(leaves).hex(),
                          author["actor"])
        prev = block["hash"]
        docs.append(doc)
        blocks.append(block)
        if len(docs) == CHUNK // 4:
            db.records.insert_many([authority.stamp("records", doc) for doc in docs])
            store_for(db).blocks.insert_many(blocks)
            docs, blocks = [], []
    if docs:
        db.records.insert_many([authority.stamp("records", doc) for doc in docs])
        store_for(db).blocks.insert_many(blocks)
    db.counters.update_one({"_id": "records:" + patient["human_id"]}, {"$set": {"n": count}},
                           upsert=True)
    return prev


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def peak_of(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def library_audit(app, db, size):
    report = audit(store_for(db), verifiers=trust.verifiers(app))
    assert report.ok and report.blocks_checked == size, report.lines()[:5]
    return report


def web_audit(client, db, size):
    """Start from the page, poll like the page does, return (job, seconds until done)."""
    response = client.post("/auditor/audits", data={"held": ""})
    assert response.status_code == 302, response.status_code
    job = response.headers["Location"].rsplit("/", 1)[-1]
    while True:
        status = client.get(f"/auditor/audits/{job}/status").get_json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(POLL_SECONDS)
    doc = db.audit_jobs.find_one({"_id": job})
    assert doc["state"] == "done", doc.get("error")
    assert doc["report"]["ok"] and doc["report"]["blocks_checked"] == size, \
        doc["report"]["problems"][:5]
    return doc


def read_floors(db, size, window):
    """Seconds to only read (no checks): every block as the audit streams it; every record
    version once more in the audit's window queries; all records once more as the coverage
    and authority pass reads them. On the embedded server reading is most of the audit."""
    def blocks():
        return sum(1 for _ in store_for(db).iter_blocks())

    def record_windows():
        return sum(len(registry.sealed_in(db.records, "sealed_height", lo, lo + window))
                   for lo in range(0, size, window))

    def coverage_pass():
        return sum(1 for _ in db.records.find())
    return [timed(fn)[1] for fn in (blocks, record_windows, coverage_pass)]


def contents_rounds(app, db, size, rounds, window, server_pid):
    """The library's structural audit and the app's full audit with contents (`run_audit`,
    what the page's job runs, without HTTP or polling) alternated `rounds` times, with the
    read floors, so that both see the same machine: best of each, and each round's ratio.

    Each audit's CPU is counted on both sides: this process (every thread: the audit, its
    read-ahead and coverage readers, pymongo's decoding) and the database server. This
    process's ratio is what the rate would be where the database answers from cores of its
    own (a real MongoDB), the server's is what it costs here."""
    best, ratios, cpu = {}, [], {"structure": [], "contents": []}

    def measured(key, fn):
        own, server = time.process_time(), process_cpu(server_pid)
        result, seconds = timed(fn)
        cpu[key].append((time.process_time() - own, process_cpu(server_pid) - server))
        return result, seconds

    for index in range(rounds):
        with app.app_context():
            _, structure = measured("structure", lambda: library_audit(app, db, size))
            report, contents = measured("contents", lambda: audit_jobs.run_audit(db, app))
        assert report.ok and report.blocks_checked == size, report.lines()[:5]
        floors = read_floors(db, size, window)
        ratios.append(structure / contents)
        for key, seconds in [("structure", structure), ("contents", contents)] + list(
                zip(("read blocks", "read records", "read coverage"), floors)):
            best[key] = min(best.get(key, seconds), seconds)
        (own_s, server_s), (own_c, server_c) = cpu["structure"][-1], cpu["contents"][-1]
        print(f"  round {index + 1}: structure {structure:.2f} s (CPU here {own_s:.2f} s, "
              f"server {server_s:.2f} s), with contents {contents:.2f} s (CPU here "
              f"{own_c:.2f} s, server {server_c:.2f} s): {structure / contents:.2f}; reads "
              f"alone: blocks {floors[0]:.2f} s, record windows {floors[1]:.2f} s, coverage "
              f"pass {floors[2]:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    blocks_floor = best["read blocks"]
    once = blocks_floor + best["read records"]
    twice = once + best["read coverage"]
    print(f"\nstructure only (library audit()): {size / best['structure']:,.0f} blocks/s "
          f"({best['structure']:.2f} s); with contents (run_audit): "
          f"{size / best['contents']:,.0f} blocks/s ({best['contents']:.2f} s)")
    print(f"contents ÷ structure rate, best against best: "
          f"{best['structure'] / best['contents']:.2f} (per round "
          f"{min(ratios):.2f}-{max(ratios):.2f}; goal >= 0.67)")
    print(f"the same ratio of the reads alone: blocks ÷ (blocks + each record once) = "
          f"{blocks_floor / once:.2f}; ÷ (that + the coverage pass) = {blocks_floor / twice:.2f} "
          "(the ceiling the server's reads set)")
    own = [s[0] / c[0] for s, c in zip(cpu["structure"], cpu["contents"])]
    server = [s[1] / c[1] for s, c in zip(cpu["structure"], cpu["contents"])]
    print(f"the same ratio of CPU seconds: this process {min(s[0] for s in cpu['structure']):.2f}"
          f" ÷ {min(c[0] for c in cpu['contents']):.2f} s = median {statistics.median(own):.2f} "
          f"(per round {min(own):.2f}-{max(own):.2f}: the rate's ratio where the database has "
          f"cores of its own); the server median {statistics.median(server):.2f} "
          f"(per round {min(server):.2f}-{max(server):.2f})")


def worker_rates(app, db, size, counts):
    """The full audit in one process, then on each number of worker processes."""
    with app.app_context():
        report, one = timed(lambda: audit_jobs.run_audit(db, app))
        assert report.ok and report.blocks_checked == size, report.lines()[:5]
        print(f"full audit, one process (run_audit): {size / one:,.0f} blocks/s ({one:.1f} s, "
              f"load {os.getloadavg()[0]:.1f})", flush=True)
        rows = [("one process (`run_audit`)", one)]
        for workers in counts:
            report, seconds = timed(lambda: parallel_audit.run(
                db, app, workers, register=startup.register_events,
                full_audit=audit_jobs.run_audit))
            assert report.ok and report.blocks_checked == size, report.lines()[:5]
            assert not report.offline_note, report.offline_note  # contents were checked
            print(f"full audit, {workers} worker(s): {size / seconds:,.0f} blocks/s "
                  f"({seconds:.1f} s, load {os.getloadavg()[0]:.1f})", flush=True)
            rows.append((f"{workers} worker(s)", seconds))
    print("\n| blocks | full audit with contents | blocks/s | time | x one process |")
    print("|---|---|---|---|---|")
    for label, seconds in rows:
        print(f"| {size:,} | {label} | {size / seconds:,.0f} | {seconds:.1f} s | "
              f"{one / seconds:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=500000)
    parser.add_argument("--records", type=int, default=0,
                        help="also seed this many record versions with encrypted payloads")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--prefetch-window", type=int, default=None,
                        help="AUDIT_PREFETCH_WINDOW for the web audit (0: a lookup per block)")
    parser.add_argument("--also-unbatched", action="store_true",
                        help="time the web audit once more with one lookup per block")
    parser.add_argument("--rounds", type=int, default=0,
                        help="with --records: alternate structure-only and full audits this "
                             "many times, with the read floors")
    parser.add_argument("--workers", default="",
                        help="also time the full audit on these numbers of processes (1,2,4)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the server by PID
    server = Server()
    instance = tempfile.mkdtemp(prefix="web-audit-bench-instance-")
    try:
        app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": instance,
                          "MONGO_URI": server.uri, "MONGO_DB": "bench",
                          "CHECKPOINT_EVERY_BLOCKS": 10 ** 9, "CHECKPOINT_EVERY_SECONDS": 10 ** 9})
        if args.prefetch_window is not None:
            app.config["AUDIT_PREFETCH_WINDOW"] = args.prefetch_window
        window = app.config.get("AUDIT_PREFETCH_WINDOW", audit_callbacks.PREFETCH_WINDOW)
        db = get_db(app)
        with app.app_context():
            auditor = users.create_user(db, username="bench.auditor", role=users.AUDITOR,
                                        name="Bench Auditor", password=PASSWORD, rounds=4)
            size, prev = 0, ZERO_HASH
            if args.records:
                doctor = users.create_user(db, username="bench.doctor", role=users.DOCTOR,
                                           name="Bench Doctor", password=PASSWORD, rounds=4,
                                           verified=False)
                patient = users.create_user(db, username="bench.patient", role=users.PATIENT,
                                            name="Bench Patient", password=PASSWORD, rounds=4)
                (prev, seconds) = timed(lambda: seed_records(app, db, args.records, 0, ZERO_HASH,
                                                             doctor, patient))
                size = args.records
                print(f"seeded {args.records:,} record versions + blocks in {seconds:.0f} s",
                      flush=True)
            started = time.perf_counter()

            def loaded(done):
                rate = (done - size) / (time.perf_counter() - started)
                print(f"  loaded {done:,} blocks ({rate:,.0f}/s)", flush=True)
            prev = seed_blocks(db, args.blocks, size, prev, leaf_pool(), loaded)
            size += args.blocks
            store_for(db).set_tip_hint(size - 1)
            print(f"seeded {args.blocks:,} blocks in {time.perf_counter() - started:.0f} s",
                  flush=True)
            _, seconds = timed(lambda: checkpoints.create(db, app))
            print(f"signed a checkpoint of size {size:,} in {seconds:.1f} s", flush=True)

        lib_report, lib_s = timed(lambda: library_audit(app, db, size))
        print(f"library audit: {size / lib_s:,.0f} blocks/s ({lib_s:.1f} s)", flush=True)
        client = app.test_client()
        response = client.post("/login", data={"username": auditor["username"], "password": PASSWORD})
        assert response.status_code == 302
        job, web_s = timed(lambda: web_audit(client, db, size))
        print(f"web audit (prefetch window {window}): {size / web_s:,.0f} blocks/s wall "
              f"({web_s:.1f} s), job's own rate {job['rate']:,.0f} blocks/s", flush=True)
        unbatched_s = None
        if args.also_unbatched:
            app.config["AUDIT_PREFETCH_WINDOW"] = 0
            _, unbatched_s = timed(lambda: web_audit(client, db, size))
            app.config["AUDIT_PREFETCH_WINDOW"] = window
            print(f"web audit (one lookup per block): {size / unbatched_s:,.0f} blocks/s wall "
                  f"({unbatched_s:.1f} s)", flush=True)
        lib_peak = web_peak = None
        if not args.no_memory:
            lib_peak = peak_of(lambda: library_audit(app, db, size))
            web_peak = peak_of(lambda: web_audit(client, db, size))
        lib_rate, web_rate = size / lib_s, size / web_s
        print()
        print("| blocks | path | audit blocks/s | audit time | peak Python memory |")
        print("|---|---|---|---|---|")
        mem = (lambda v: "-" if v is None else f"{v / 1e6:.1f} MB")
        print(f"| {size:,} | library `audit(store)` | {lib_rate:,.0f} | {lib_s:.1f} s | {mem(lib_peak)} |")
        print(f"| {size:,} | web job (POST, background, polled) | {web_rate:,.0f} | {web_s:.1f} s | "
              f"{mem(web_peak)} |")
        if unbatched_s is not None:
            print(f"| {size:,} | web job, one lookup per block | {size / unbatched_s:,.0f} | "
                  f"{unbatched_s:.1f} s | - |")
        print(f"\nweb / library rate: {web_rate / lib_rate:.2f} "
              f"({'within' if web_rate >= 0.8 * lib_rate else 'NOT within'} 20%)")
        if args.records:
            print(f"({args.records:,} of the blocks are record versions whose encrypted payloads "
                  "the web audit decrypted and checked; the library audit checks structure only)")
        assert lib_report.ok
        if args.rounds:
            contents_rounds(app, db, size, args.rounds, window, server.process.pid)
        if args.workers:
            worker_rates(app, db, size, [int(n) for n in args.workers.split(",")])
    finally:
        server.stop()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()

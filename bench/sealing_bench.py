"""Sealing throughput with many writers: sealed events/s with 1, 2, 4, 8 writer processes.

Each writer is a spawned process (no fork) with its own app and client, logged in as a doctor,
posting the record-create page (form, encryption, record, sealed block, height) through the
in-process test client against one SecantusDB server started here. A run splits --events
record creations evenly between its writers, all released at once; events/s is the total
over the wall time from release to the last writer done. Retries are the lost height races
(HeightTaken from the unique height, counted in each writer). After each run the ledger is
audited in full (structure, attributes, MACs, coverage): it must be sound (the bench's
doctor is verified through the licence flow, so every document is sealed), and each run must
add exactly one block per record created, so nothing is lost. Each writer also counts the
database commands it sent while timed (pymongo command monitoring): commands and writes per sealed event, the figure that
sets the throughput on a replica set, where every write waits for a majority. CPU seconds
per event (the writers' own, and the database server's when its PID is known) move less
with what else the machine runs than events/s, since on a shared machine N writer processes
also get N shares of the CPU against everyone else's.

With `--mongo-uri URI` the writers go to a server started by hand instead (a shared hospital
server; bench/README.md has the command): the run uses a database of its own with a fresh
name, refuses a name that already exists, and drops that database at the end, also on failure.
MONGO_URI is deliberately not read: a benchmark writes only where it is told to.

    python bench/sealing_bench.py [--writers 1,2,4,8] [--events 240] [--repeat 2]
                                  [--mongo-uri URI [--server-pid PID]]
"""
import argparse
import logging
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter

import pymongo
from pymongo import monitoring, uri_parser

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import durability_bench  # noqa: E402
from bench.durability_bench import NOTE, PASSWORD, make_app  # noqa: E402
from ledger import store as ledger_store  # noqa: E402
from models.sealing import audit_jobs  # noqa: E402
from models.storage.db import get_db  # noqa: E402
from bench.page_bench import process_cpu  # noqa: E402
from tests.fault_support import DatabaseProcess  # noqa: E402



def people(app):
    """The durability benchmark's hospital, doctor and patient: (username, patient id)."""
    doctor, patient = durability_bench.people(app)
    return doctor["username"], patient["human_id"]


_lost_races = 0
WRITES = {"insert", "update", "delete", "findAndModify"}


class _Commands(monitoring.CommandListener):
    """Counts the commands this writer process sends, by name."""

    def __init__(self):
        self.sent = Counter()

    def started(self, event):
        self.sent[event.command_name] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def _counting(insert):
    """insert_block that counts the lost height races of this writer (the retries)."""
    def wrapped(self, doc):
        global _lost_races
        try:
            return insert(self, doc)
        except ledger_store.HeightTaken:
            _lost_races += 1
            raise
    return wrapped


def writer(workdir, uri, name, username, patient, count, ready, go, results):
    """One writer process: log in, wait for the start, create `count` records."""
    ledger_store.MongoStore.insert_block = _counting(ledger_store.MongoStore.insert_block)
    commands = _Commands()
    monitoring.register(commands)  # before the app's client is made: it sees every command
    app = make_app(workdir, uri, name)
    logging.getLogger("app").setLevel(logging.WARNING)  # no line per record created
    client = app.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD})
    path = f"/doctor/patients/{patient}/records/new/note"
    ready.put(os.getpid())
    go.wait()
    before, cpu = commands.sent.copy(), time.process_time()
    failed = 0
    for _ in range(count):
        failed += client.post(path, data=NOTE).status_code != 302
    sent = commands.sent - before
    results.put((time.perf_counter(), _lost_races, failed, sum(sent.values()),
                 sum(n for name, n in sent.items() if name in WRITES), time.process_time() - cpu))


def run(workdir, uri, name, username, patient, writers, events, server_pid):
    """One run: spawn the writers, release them at once; the totals of what they counted."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = events // writers
    procs = [ctx.Process(target=writer, args=(workdir, uri, name, username, patient, share,
                                              ready, go, results)) for _ in range(writers)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    started, server_cpu = time.perf_counter(), process_cpu(server_pid) if server_pid else 0.0
    go.set()
    done = [results.get(timeout=600) for _ in procs]
    server_cpu = process_cpu(server_pid) - server_cpu if server_pid else None
    for proc in procs:
        proc.join()
    retries, failed, sent, writes, cpu = (sum(row[column] for row in done)
                                          for column in (1, 2, 3, 4, 5))
    return {"created": share * writers, "wall": max(row[0] for row in done) - started,
            "retries": retries, "failed": failed, "sent": sent, "writes": writes,
            "writer_cpu": cpu, "server_cpu": server_cpu}


def cpu_ms(row, key):
    """CPU milliseconds per event, or '-' when not measured."""
    return "-" if row[key] is None else f"{1000 * row[key] / row['created']:.1f}"


def measure(app, workdir, uri, name, username, patient, writers, events, server_pid):
    """One run, checked: every request answered 302 and exactly one block per record."""
    with app.app_context():
        before = get_db().ledger_blocks.count_documents({})
    row = run(workdir, uri, name, username, patient, writers, events, server_pid)
    with app.app_context():
        added = get_db().ledger_blocks.count_documents({}) - before
    created = row["created"]
    row.update(rate=created / row["wall"], load=os.getloadavg()[0])
    print(f"  {writers} writers: {row['rate']:7.1f} sealed events/s ({created} in "
          f"{row['wall']:.2f} s), {row['retries']} retries "
          f"({row['retries'] / created:.2f} per event), {row['sent'] / created:.1f} commands "
          f"({row['writes'] / created:.1f} writes) per event, CPU ms per event "
          f"{cpu_ms(row, 'writer_cpu')} writers + {cpu_ms(row, 'server_cpu')} server, "
          f"{row['failed']} failed, blocks +{added}, load {row['load']:.2f}", flush=True)
    assert row["failed"] == 0 and added == created, "events were lost"
    return row


def where(uri):
    """The server's address for the report: hosts and the options that change the cost,
    never the credentials."""
    parsed = uri_parser.parse_uri(uri)
    hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])
    options = {key.lower(): value for key, value in parsed["options"].items()}
    return (f"{hosts} (retryWrites={options.get('retrywrites', True)}, "
            f"replicaSet={options.get('replicaset', '-')})")


def fresh_database(uri):
    """A database name that does not exist yet on the shared server: this run's own."""
    name = f"bench_sealing_{time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(4)}"
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as probe:
        if name in probe.list_database_names():
            raise SystemExit(f"database {name} already exists on the shared server")
    return name


def drop_database(uri, name):
    """Drop this run's database (and only it); say so, or say it is left behind."""
    try:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as probe:
            probe.drop_database(name)
            gone = name not in probe.list_database_names()
    except pymongo.errors.PyMongoError as error:
        gone = False
        print(f"dropping {name} failed: {type(error).__name__}")
    print(f"dropped database {name}" if gone else f"database {name} is left: drop it by hand")


def audit(app):
    """The full audit at the end: every sealed event on a sound chain, nothing unsealed."""
    with app.app_context():
        report = audit_jobs.run_audit(get_db(), app)
    print(f"final audit: {report.verdict()}")
    assert report.ok, [p.line() for p in report.problems[:5]]


def summary(best, counts):
    base = best[counts[0]]["rate"]
    print(f"\n{'writers':>8} {'events/s':>9} {'x ' + str(counts[0]) + ' writer':>11} "
          f"{'retries/event':>14} {'commands/event':>15} {'writes/event':>13} "
          f"{'CPU ms/event':>13} {'load':>6}")
    for writers in counts:
        row = best[writers]
        created = row["created"]
        print(f"{writers:>8} {row['rate']:9.1f} {row['rate'] / base:11.2f} "
              f"{row['retries'] / created:14.2f} {row['sent'] / created:15.1f} "
              f"{row['writes'] / created:13.1f} "
              f"{cpu_ms(row, 'writer_cpu') + ' + ' + cpu_ms(row, 'server_cpu'):>13} "
              f"{row['load']:6.2f}")
    if 4 in best and 1 in best:
        share = best[4]["rate"] / best[1]["rate"]
        print(f"\n4 writers reach {share:.0%} of 1 writer's events/s (target >= 80%): "
              f"{'met' if share >= 0.8 else 'not met'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default="1,2,4,8")
    parser.add_argument("--events", type=int, default=240)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--mongo-uri", help="a server started by hand (mongodb://...); "
                        "default: a SecantusDB started here")
    parser.add_argument("--server-pid", type=int, help="the shared server's PID, if it runs "
                        "on this host: its CPU per event is then measured too")
    args = parser.parse_args(argv)
    if args.mongo_uri and not args.mongo_uri.startswith(("mongodb://", "mongodb+srv://")):
        parser.error("--mongo-uri takes a mongodb:// or mongodb+srv:// URI")
    if args.server_pid and not args.mongo_uri:
        parser.error("--server-pid goes with --mongo-uri")
    counts = [int(c) for c in args.writers.split(",")]
    workdir = tempfile.mkdtemp(prefix="sealing-bench-")
    database, server_pid = None, args.server_pid
    if args.mongo_uri:
        uri, name = args.mongo_uri, fresh_database(args.mongo_uri)
        server = f"shared server {where(uri)}, database {name} (dropped at the end)"
    else:
        database = DatabaseProcess(os.path.join(workdir, "db")).start()
        uri, name, server_pid = database.uri, "bench_sealing", database.process.pid
        server = f"SecantusDB started by the bench on {where(uri)}"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.events} record creations "
          f"per run, best of {args.repeat}\n{server}", flush=True)
    best = {}
    try:
        app = make_app(workdir, uri, name)
        username, patient = people(app)
        for _ in range(args.repeat):
            for writers in counts:
                row = measure(app, workdir, uri, name, username, patient, writers,
                              args.events, server_pid)
                if writers not in best or row["rate"] > best[writers]["rate"]:
                    best[writers] = row
        audit(app)
    finally:
        if database is not None:
            database.stop()
        else:
            drop_database(uri, name)
        shutil.rmtree(workdir, ignore_errors=True)
    summary(best, counts)


if __name__ == "__main__":
    main()

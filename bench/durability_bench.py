"""What durability costs: journaled writes (the default) against unjournaled ones.

Every write the app acknowledges waits for the journal (`j: true`: the embedded server fsyncs
that commit), so that it survives `kill -9` of the database. This measures, on one fresh
SecantusDB server, the record-create page (p50/p95, in-process test client, the whole request:
form, encryption, record, block, height) and bare sealed events per second (`seal()` in a
loop), with the default write concern and with `journal=false` in MONGO_URI, alternating the
two configurations so that the machine's load falls on both alike.

    python bench/durability_bench.py [--records 200] [--events 1000] [--rounds 2]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from cli.seed import demo_licence_pdf  # noqa: E402
from models.people import organizations, users, verification  # noqa: E402
from models.sealing import seam  # noqa: E402
from models.storage.db import get_db  # noqa: E402
from tests.fault_support import DatabaseProcess  # noqa: E402

PASSWORD = "bench password 123"
NOTE = {"title": "Bench note", "text": "Written by the durability benchmark",
        "sensitivity": "normal", "submit": "Save"}


def make_app(workdir, uri, name):
    instance = os.path.join(workdir, "instance")
    os.makedirs(instance, exist_ok=True)
    return create_app({"ENV_NAME": "testing", "INSTANCE_PATH": instance, "MONGO_URI": uri,
                       "MONGO_DB": name, "DATA_KEY_FILE": os.path.join(instance, "data.key"),
                       "LEDGER_KEY_FILE": os.path.join(instance, "ledger.key"),
                       "CHECKPOINT_EVERY_BLOCKS": 10**9})


def people(app):
    with app.app_context():
        db = get_db()
        hospital = organizations.create(db, name="Bench Hospital", kind=organizations.HOSPITAL)
        admin = users.create_user(db, username="benchadmin", role=users.ADMIN,
                                  name="Bench Admin", password=PASSWORD, rounds=4)
        doctor = users.create_user(db, username="benchdoc", role=users.DOCTOR, name="Bench Doctor",
                                   password=PASSWORD, rounds=4, org_id=hospital["human_id"],
                                   verified=False)
        # Verified the way the app verifies (licence upload, approval, its ledger block), so
        # that the audit after a benchmark finds every document sealed.
        doctor = verification.submit_licence(db, doctor, demo_licence_pdf(doctor), "licence.pdf",
                                             app.config["MAX_ATTACHMENT_BYTES"])
        doctor = verification.approve(db, doctor["human_id"], admin)
        patient = users.create_user(db, username="benchpat", role=users.PATIENT,
                                    name="Bench Patient", password=PASSWORD, rounds=4)
    return doctor, patient


def record_page(app, doctor, patient, count):
    """ms per record-create request (the POST, redirect not followed)."""
    client = app.test_client()
    client.post("/login", data={"username": doctor["username"], "password": PASSWORD})
    path = f"/doctor/patients/{patient['human_id']}/records/new/note"
    for _ in range(5):
        client.post(path, data=NOTE)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post(path, data=NOTE)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, response.status_code
    return timings


def sealed_events(app, count):
    """Sealed events per second: seal() alone, as every model calls it."""
    with app.test_request_context():
        started = time.perf_counter()
        for n in range(count):
            seam.seal("access.used", {"grant": f"GRT-{n:06d}"}, None, {"n": n})
        return count / (time.perf_counter() - started)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="durability-bench-")
    database = DatabaseProcess(os.path.join(workdir, "db")).start()
    results = {"journaled (default)": [], "journal=false": []}
    try:
        for round_number in range(args.rounds):
            for label, options in (("journaled (default)", ""), ("journal=false", "&journal=false")):
                app = make_app(workdir, database.uri + options, f"bench_{round_number}_{len(options)}")
                doctor, patient = people(app)
                timings = record_page(app, doctor, patient, args.records)
                rate = sealed_events(app, args.events)
                results[label].append((timings, rate))
                print(f"round {round_number + 1} {label}: record page p50 "
                      f"{statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms;"
                      f" {rate:,.0f} sealed events/s (load {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        database.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{'write concern':22} {'record page p50':>16} {'p95':>8} {'sealed events/s':>16}")
    summary = {}
    for label, runs in results.items():
        timings = [t for run, _ in runs for t in run]
        rate = statistics.median(rate for _, rate in runs)
        summary[label] = (statistics.median(timings), percentile(timings, 0.95), rate)
        p50, p95, rate = summary[label]
        print(f"{label:22} {p50:13.1f} ms {p95:5.1f} ms {rate:16,.0f}")
    (d50, d95, drate), (f50, f95, frate) = summary.values()
    print(f"\nDurability costs {d50 - f50:+.1f} ms at p50 and {d95 - f95:+.1f} ms at p95 per "
          f"record created ({d50 / f50:.2f}x), and {frate / drate:.2f}x the time per sealed "
          "event.")


if __name__ == "__main__":
    main()

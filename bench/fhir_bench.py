"""FHIR export benchmark: `$everything` of a patient with 500 records, and the bulk export
`flask fhir export --all DIR` at growing sizes, on the embedded DB (SecantusDB).

    python bench/fhir_bench.py [--patients 1000,10000] [--records-per-patient 10]
                               [--everything 500] [--quick] [--keep] [--workdir DIR]

Steps, all on 127.0.0.1, every process stopped by PID at the end (as bench/page_bench.py):
1. start a SecantusDB server (`secantusd-py`) on a free port with its files in a temp folder;
2. for each size in `--patients`, smallest first: grow the demo data with
   `flask seed-demo --patients N --records N*R` (idempotent, so each step only adds), then
   run `flask fhir export --all DIR` as a child process: seconds, patients/s, resources, MB
   written, and the child's peak resident memory (ru_maxrss from wait4). Flat memory means
   the peak does not grow with the number of patients;
3. `$everything`: give demo patient 1 `--everything` more records (bulk, as the seed does),
   then build their Bundle in this process with models.exchange.fhir_export, as the patient
   (everything, file bytes embedded) and as a doctor under a grant (every record a sealed
   read: access decision, read-log entry, ledger block, decryption), and with
   `flask fhir export PAT-…` (the operator's CLI): seconds, MB, and the peak Python memory
   of the in-process runs (tracemalloc, a second run) next to the Bundle's size.
The machine's 1-minute load average is printed with the tables.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from page_bench import (ROOT, app_environment, start_database, tear_down, tool,  # noqa: E402
                        with_options)

from cli.seed import doctor_identity, patient_username  # noqa: E402

MB = 1024 * 1024


def run_child(command, env, stdout=subprocess.DEVNULL):
    """(seconds, peak RSS in MB) of a child command; fails loudly if it fails."""
    print("$ " + " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=stdout)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{command[1:4]} exited with status {process.returncode}")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def seed(env, patients, records):
    return run_child([tool("flask"), "--app", "app", "seed-demo", "--patients", str(patients),
                      "--records", str(records)], env)[0]


def bulk_export(env, workdir, patients):
    out = os.path.join(workdir, f"bulk-{patients}")
    shutil.rmtree(out, ignore_errors=True)
    seconds, peak = run_child([tool("flask"), "--app", "app", "fhir", "export", "--all", out], env)
    with open(os.path.join(out, "manifest.json")) as handle:
        manifest = json.load(handle)
    written = sum(os.path.getsize(os.path.join(out, item["url"])) for item in manifest["output"])
    resources = sum(item["count"] for item in manifest["output"])
    shutil.rmtree(out, ignore_errors=True)
    return {"patients": manifest["patients"], "seconds": seconds, "resources": resources,
            "mb": written / MB, "peak_mb": peak,
            "per_s": manifest["patients"] / seconds if seconds else 0.0}


# $everything (in this process, on the same database and keys) ---------------------------------

def open_app(env):
    os.environ.update(env)
    from app import create_app
    return create_app()


def add_records(app, patient_id, doctors, count):
    """`count` more records for one patient, bulk-written and sealed as the demo seed does."""
    from models.clinical import record_seed
    from models.sealing import seam
    from models.storage.db import get_db
    with app.app_context():
        db = get_db()
        done = (db.meta.find_one({"_id": record_seed.META_ID}) or {}).get("n", 0)
        record_seed.seed(db, app.extensions["medledger"]["data_key"], doctors=doctors,
                         patient_ids=[patient_id], count=done + count, seed_value=99)
        seam.forget_cached_tip(app)
        return db.records.count_documents({"patient_id": patient_id})


def time_bundle(app, viewer, patient_id, traced=False):
    """(seconds, bytes, resources, peak Python MB or None) of one Bundle, streamed to a hash."""
    from models.exchange import fhir_export
    from models.storage.db import get_db
    with app.app_context():
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        digest, size, count = hashlib.sha256(), 0, [0]

        def counted(stream):
            for resource in stream:
                count[0] += 1
                yield resource
        resources = fhir_export.patient_resources(get_db(), app.extensions["medledger"]["data_key"],
                                                  viewer, patient_id)
        for chunk in fhir_export.collection_bundle(counted(resources)):
            data = chunk.encode("utf-8")
            digest.update(data)
            size += len(data)
        seconds = time.perf_counter() - started
        peak = None
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / MB
            tracemalloc.stop()
    return seconds, size, count[0], peak


def everything(app, env, workdir, extra):
    from models.consent import workflow as consent
    from models.people import users
    from models.storage.db import get_db
    with app.app_context():
        db = get_db()
        patient = users.by_username(db, patient_username(0))
        doctors = [users.by_username(db, doctor_identity(i)[0]) for i in range(2)]
        colleague = users.by_username(db, doctor_identity(2)[0])
    total = add_records(app, patient["human_id"], doctors, extra)
    with app.app_context():
        consent.grant_proactively(get_db(), patient=patient, grantee=colleague["human_id"],
                                  scope_kind=consent.ALL, type_names=[], record_text="",
                                  purpose="treatment", duration_days=1, one_time=False)
        reads_before = get_db().record_reads.count_documents({})
    rows = []
    for label, viewer in (("patient (own, files embedded)", patient),
                          ("doctor under a grant (sealed reads)", colleague)):
        seconds, size, count, _ = time_bundle(app, viewer, patient["human_id"])
        _, _, _, peak = time_bundle(app, viewer, patient["human_id"], traced=True)
        rows.append({"who": label, "seconds": seconds, "mb": size / MB, "resources": count,
                     "peak_mb": peak})
    with app.app_context():
        reads = get_db().record_reads.count_documents({}) - reads_before
    out = os.path.join(workdir, "everything.json")
    with open(out, "wb") as handle:
        seconds, peak = run_child([tool("flask"), "--app", "app", "fhir", "export",
                                   patient["human_id"]], env, stdout=handle)
    rows.append({"who": "operator CLI (flask fhir export PAT-…)", "seconds": seconds,
                 "mb": os.path.getsize(out) / MB, "resources": None, "peak_mb": None,
                 "rss_mb": peak})
    return patient["human_id"], total, reads, rows


# Output --------------------------------------------------------------------------------------

def load():
    return os.getloadavg()[0]


def print_bulk(rows):
    print("\nBulk export: flask fhir export --all DIR (embedded SecantusDB)")
    print("| patients | seconds | patients/s | resources | MB written | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['patients']:,} | {row['seconds']:.1f} | {row['per_s']:.0f} | "
              f"{row['resources']:,} | {row['mb']:.1f} | {row['peak_mb']:.0f} |")


def print_everything(patient_id, total, reads, rows):
    print(f"\n$everything of {patient_id} ({total} record versions); the doctor's export sealed "
          f"{reads} reads over its two runs")
    print("| who | seconds | MB | resources | peak Python MB (tracemalloc) | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        traced = f"{row['peak_mb']:.1f}" if row.get("peak_mb") is not None else "—"
        rss = f"{row['rss_mb']:.0f}" if row.get("rss_mb") is not None else "—"
        count = f"{row['resources']:,}" if row.get("resources") is not None else "—"
        print(f"| {row['who']} | {row['seconds']:.2f} | {row['mb']:.2f} | {count} | {traced} | {rss} |")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", default="1000,10000",
                        help="bulk export sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--records-per-patient", type=int, default=10)
    parser.add_argument("--everything", type=int, default=500,
                        help="records added to one patient for $everything (default 500)")
    parser.add_argument("--quick", action="store_true", help="100,1000 patients, 100 records")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--workdir", help="use and keep this folder")
    parser.add_argument("--mongo-options", default="retryWrites=false")
    args = parser.parse_args(argv)
    if args.quick:
        args.patients, args.everything = "100,1000", 100
    args.sizes = sorted(int(part) for part in args.patients.split(",") if part.strip())
    if not args.sizes or min(args.sizes) < 1 or args.everything < 1:
        parser.error("sizes and --everything must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    workdir = os.path.abspath(args.workdir) if args.workdir else tempfile.mkdtemp(prefix="fhir-bench-")
    os.makedirs(workdir, exist_ok=True)
    keep = args.keep or bool(args.workdir)
    database = None
    print(f"FHIR benchmark: bulk sizes {args.sizes}, {args.records_per_patient} records per "
          f"patient, $everything with {args.everything} records; work folder {workdir}")
    try:
        database, uri = start_database(workdir)
        env = app_environment(workdir, with_options(uri, args.mongo_options))
        bulk = []
        for size in args.sizes:
            seconds = seed(env, size, size * args.records_per_patient)
            print(f"Seeded up to {size:,} patients in {seconds:.0f} s (load {load():.1f}).",
                  flush=True)
            bulk.append(bulk_export(env, workdir, size))
            print_bulk(bulk[-1:])
        app = open_app(env)
        patient_id, total, reads, rows = everything(app, env, workdir, args.everything)
        print(f"\nLoad average (1 min) at the end: {load():.1f}")
        print_bulk(bulk)
        print_everything(patient_id, total, reads, rows)
        return 0
    finally:
        tear_down(workdir, keep, (database, "secantusd-py"))


if __name__ == "__main__":
    sys.exit(main())

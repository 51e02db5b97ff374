"""The read-only FHIR API (issue 13) on the embedded DB: what one request costs.

One patient with N records of every type (written and sealed through the models), a doctor
holding a grant, a personal API token each; then, in this process through the Flask test
client (no HTTP server: the API's own cost), the best of a few runs of: the CapabilityStatement
with a token checked, the Patient read, a record read by id (one sealed read), a Condition
search of 20 records as the patient (no read sealed) and as the doctor (20 sealed reads), an
Observation search of 100 records as the doctor, and $everything as the patient.

    python bench/fhir_api_bench.py [--records 500] [--runs 3]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from page_bench import app_environment, start_database, stop  # noqa: E402

TYPES = ("general", "diagnosis", "prescription", "lab_report", "imaging", "allergy",
         "immunization", "note")


def world(app, count):
    """(patient id, a record id of a diagnosis, patient's token, doctor's token)."""
    from models.clinical import records
    from models.consent import workflow as consent
    from models.people import api_tokens, users
    from models.storage.db import get_db
    from tests.records.world import VALID
    with app.app_context():
        db, key = get_db(), app.extensions["medledger"]["data_key"]
        made = dict(password="correct horse battery", rounds=4)
        author = users.create_user(db, username="bench.author", role=users.DOCTOR,
                                   name="Bench Author", verified=True, **made)
        reader = users.create_user(db, username="bench.reader", role=users.DOCTOR,
                                   name="Bench Reader", verified=True, **made)
        patient = users.create_user(db, username="bench.patient", role=users.PATIENT,
                                    name="Bench Patient", **made)
        started = time.perf_counter()
        for number in range(count):
            type_name = TYPES[number % len(TYPES)]
            records.create(db, key, author=author, patient_id=patient["human_id"],
                           type_name=type_name, raw=dict(VALID[type_name]), max_bytes=10**6)
        print(f"{count} records written and sealed in {time.perf_counter() - started:.1f} s")
        consent.grant_proactively(db, patient=patient, grantee=reader["human_id"],
                                  scope_kind="all", type_names=[], record_text="",
                                  purpose="treatment", duration_days=7, one_time=False)
        diagnosis = db.records.find_one({"patient_id": patient["human_id"], "type": "diagnosis"})
        return (patient["human_id"], diagnosis["record_id"],
                api_tokens.create(db, patient, "bench")[1],
                api_tokens.create(db, reader, "bench")[1])


def timed(client, label, path, token, runs):
    best, size = None, 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        data = response.get_data()
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {data[:200]!r}")
        best, size = seconds if best is None else min(best, seconds), len(data)
    print(f"{label:58s} {best * 1000:9.1f} ms {size / 1024:9.1f} KiB", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="fhir-api-bench-")
    database = None
    try:
        database, uri = start_database(workdir)
        os.environ.update(app_environment(workdir, uri))
        from app import create_app
        app = create_app()
        patient_id, record_id, own, doctor = world(app, args.records)
        client = app.test_client()
        print(f"best of {args.runs}, load {os.getloadavg()[0]:.1f}")
        timed(client, "metadata (token checked)", "/fhir/r4/metadata", own, args.runs)
        timed(client, "Patient read (patient)", f"/fhir/r4/Patient/{patient_id}", own, args.runs)
        timed(client, "Condition read by id (doctor: 1 sealed read)",
              f"/fhir/r4/Condition/{record_id}", doctor, args.runs)
        search = f"/fhir/r4/Condition?patient={patient_id}&_count=20"
        timed(client, "Condition search, 20 records (patient)", search, own, args.runs)
        timed(client, "Condition search, 20 records (doctor: 20 sealed reads)", search, doctor,
              args.runs)
        timed(client, "Observation search, 100 records (doctor: 100 sealed reads)",
              f"/fhir/r4/Observation?patient={patient_id}&_count=100", doctor, args.runs)
        timed(client, f"$everything, {args.records} records (patient)",
              f"/fhir/r4/Patient/{patient_id}/$everything", own, args.runs)
        print(f"load at the end {os.getloadavg()[0]:.1f}")
        return 0
    finally:
        stop(database, "secantusd-py")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

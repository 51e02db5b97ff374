"""What a patient's FHIR import costs: a Bundle of N entries through the upload page, on one
fresh SecantusDB server (each entry a record, its file and its block, journaled as always).

The Bundle is N Observations (vital signs, each with a LOINC code and a UCUM quantity); the
page is posted with the in-process test client, so the time is the whole request: parse,
check every entry, then write and seal each record. A second upload of the same Bundle is
timed too: it finds every entry already imported and writes nothing.

    python bench/fhir_import_bench.py [--entries 500]
"""
import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from models.people import users  # noqa: E402
from models.storage.db import get_db  # noqa: E402
from tests.fault_support import DatabaseProcess  # noqa: E402

PASSWORD = "bench password 123"


def bundle(count):
    entries = [{"resource": {
        "resourceType": "Observation", "id": f"obs-{n}", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                  "observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7",
                             "display": "Body weight"}]},
        "subject": {"reference": "Patient/elsewhere-1"},
        "effectiveDateTime": f"2024-01-{n % 28 + 1:02d}T08:00:00Z",
        "valueQuantity": {"value": 60 + n / 10, "unit": "kg",
                          "system": "http://unitsofmeasure.org", "code": "kg"}}}
        for n in range(count)]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="fhir-import-bench-")
    database = DatabaseProcess(os.path.join(workdir, "db")).start()
    try:
        instance = os.path.join(workdir, "instance")
        os.makedirs(instance)
        app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": instance,
                          "MONGO_URI": database.uri, "MONGO_DB": "bench",
                          "DATA_KEY_FILE": os.path.join(instance, "data.key"),
                          "LEDGER_KEY_FILE": os.path.join(instance, "ledger.key"),
                          "CHECKPOINT_EVERY_BLOCKS": 10**9})
        with app.app_context():
            users.create_user(get_db(), username="benchpat", role=users.PATIENT,
                              name="Bench Patient", password=PASSWORD, rounds=4)
        client = app.test_client()
        client.post("/login", data={"username": "benchpat", "password": PASSWORD})
        raw = bundle(args.entries)
        for label in ("first upload", "same Bundle again"):
            started = time.perf_counter()
            response = client.post("/patient/fhir-import", data={
                "bundle": (io.BytesIO(raw), "bundle.json")}, content_type="multipart/form-data")
            seconds = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            with app.app_context():
                count = get_db().records.count_documents({})
            print(f"{label}: {args.entries} entries, {len(raw) / 1e6:.2f} MB, {seconds:.2f} s "
                  f"({seconds * 1000 / args.entries:.1f} ms per entry), {count} records "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        database.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What a research export costs at 10,000 patients and 100,000 records (issue 14).

Builds the data directly in the database for speed: patients with profiles (date of birth,
sex, a US ZIP code) inserted in bulk, records by the demo seed's bulk path (encrypted, each
with its `record.created` block), consent versions for a share of the patients (all
research) written as the app writes them but in bulk; then a researcher's study is registered
and approved through the models. It times, on one fresh SecantusDB server (or mongomock with
`--mongomock`), the steps of an export — who takes part, reading and decrypting their
records into rows, the k-anonymity gate — and the whole `exports.create` (package, subject
mapping, sealed block), then the peak memory of a second whole export under tracemalloc.

    python bench/research_bench.py [--patients 10000] [--records 100000] [--consent 0.8]
                                   [--mongomock] [--quick] [--profile]
"""
import argparse
import cProfile
import os
import pstats
import random
import secrets
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from models.clinical import record_seed  # noqa: E402
from models.core import clock, ids  # noqa: E402
from models.people import organizations, users  # noqa: E402
from models.research import consent, exports, kanon, studies  # noqa: E402
from models.storage import authority  # noqa: E402
from models.storage.db import get_db  # noqa: E402
from tests.fault_support import DatabaseProcess  # noqa: E402

PASSWORD = "bench password 123"
ZIPS = [f"{prefix:03d}{rest:02d}" for prefix in range(100, 400, 3) for rest in (11, 47)]
STUDY = dict(title="Diabetes, hypertension and asthma by age", ethics_ref="IRB-BENCH-1",
             purpose="How blood pressure and BMI bands differ across the cohort's diagnoses.",
             fields=["age_band", "sex", "zip3", "year_of_diagnosis", "diagnosis_group",
                     "systolic_band", "bmi_band", "medication_class"],
             record_types_chosen=["diagnosis", "general", "prescription"],
             year_from=2000, year_to=date.today().year, diagnosis_prefixes="",
             k=5, max_suppression=10)


def make_app(workdir, uri):
    instance = os.path.join(workdir, "instance")
    os.makedirs(instance, exist_ok=True)
    config = {"ENV_NAME": "testing", "INSTANCE_PATH": instance,
              "DATA_KEY_FILE": os.path.join(instance, "data.key"),
              "LEDGER_KEY_FILE": os.path.join(instance, "ledger.key"),
              "AUTHORITY_KEY_FILE": os.path.join(instance, "authority.key"),
              "CHECKPOINT_EVERY_BLOCKS": 10**9}
    if uri:
        config.update(MONGO_URI=uri, MONGO_DB="research_bench")
    return create_app(config)


def patients(db, count, rng):
    """Patient accounts in bulk, as users.create_user writes them (no password)."""
    human_ids = ids.next_ids(db, "patient", count)
    docs = []
    for n, human_id in enumerate(human_ids):
        born = date(1930, 1, 1) + timedelta(days=rng.randint(0, 365 * 75))
        docs.append(authority.stamp("users", {
            "username": f"benchpatient{n}", "password_hash": None, "must_set_password": True,
            "role": users.PATIENT, "name": f"Bench Patient {n}", "human_id": human_id,
            "org_id": None, "active": True, "verification": {"state": "verified"},
            "failed_logins": 0, "locked_until": None, "actor": "act-" + secrets.token_hex(8),
            "created_at": clock.now(), "created_by": None,
            "profile": {"date_of_birth": born.isoformat(), "sex": rng.choice(("female", "male")),
                        "email": f"p{n}@example.org", "phone": None,
                        "postcode": rng.choice(ZIPS)}}))
    for start in range(0, len(docs), 2000):
        db.users.insert_many(docs[start:start + 2000])
    return human_ids


def consents(db, patient_ids, share, rng):
    """`share` of the patients in for all research: version 1 each, authentic and sealed
    (the height is a stand-in: the bench measures the export, not the consent page)."""
    chosen = [pid for pid in patient_ids if rng.random() < share]
    now = clock.now_ms()
    docs = [authority.stamp("research_consents", {
        "patient_id": pid, "version": 1, "choice": consent.ALL, "studies": [], "excluded": [],
        "changed_by": pid, "changed_at": now, "sealed_height": 0, "seal_salts": {}})
        for pid in chosen]
    for start in range(0, len(docs), 2000):
        db.research_consents.insert_many(docs[start:start + 2000])
    return len(chosen)


def study(db):
    org = organizations.create(db, name="Bench Research Institute", kind=organizations.RESEARCH)
    researcher = users.create_user(db, username="benchresearcher", role=users.RESEARCHER,
                                   name="Bench Researcher", password=PASSWORD, rounds=4,
                                   org_id=org["human_id"])
    admin = users.create_user(db, username="benchadmin", role=users.ADMIN, name="Bench Admin",
                              password=PASSWORD, rounds=4)
    pending = studies.register(db, researcher=researcher, **STUDY)
    return researcher, studies.approve(db, actor=admin, study_id=pending["study_id"],
                                       reason="Benchmark approval")


def timed(label, fn):
    started = time.perf_counter()
    value = fn()
    print(f"  {label:48} {time.perf_counter() - started:8.2f} s", flush=True)
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--consent", type=float, default=0.8)
    parser.add_argument("--mongomock", action="store_true")
    parser.add_argument("--quick", action="store_true", help="1,000 patients, 10,000 records")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the reading step and print its 15 costliest functions")
    args = parser.parse_args(argv)
    if args.quick:
        args.patients, args.records = 1_000, 10_000
    workdir = tempfile.mkdtemp(prefix="research-bench-")
    database = None if args.mongomock else DatabaseProcess(os.path.join(workdir, "db")).start()
    rng = random.Random(14)
    try:
        app = make_app(workdir, database.uri if database else None)
        key = app.extensions["medledger"]["data_key"]
        print(f"{args.patients:,} patients, {args.records:,} records, "
              f"{'mongomock' if args.mongomock else 'SecantusDB'}, load "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        with app.app_context():
            db = get_db()
            print("build:")
            patient_ids = timed("patients (bulk)", lambda: patients(db, args.patients, rng))
            doctor = users.create_user(db, username="benchdoctor", role=users.DOCTOR,
                                       name="Bench Doctor", password=PASSWORD, rounds=4,
                                       verified=True)
            timed("records (demo seed's bulk path, sealed)", lambda: record_seed.seed(
                db, key, doctors=[doctor], patient_ids=patient_ids, count=args.records))
            opted = timed("consents (bulk)", lambda: consents(db, patient_ids, args.consent,
                                                              rng))
            researcher, approved = study(db)
            today = clock.now_ms().date()
            print(f"export ({opted:,} patients opted in):")
            members = timed("participants(db, study)",
                            lambda: list(consent.participants(db, approved)))
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            pairs = timed("read + decrypt + de-identify (cohort_rows)",
                          lambda: exports.cohort_rows(db, key, approved, today))
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
            quasi = {name: form for name, form in (
                ("age_band", "age_band"), ("sex", "sex"), ("zip3", "zip3"),
                ("year_of_diagnosis", "year"), ("diagnosis_group", "diagnosis_group"))}
            result = timed("k-anonymity gate (anjana + pycanon)", lambda: kanon.gate(
                [row for _, row in pairs], quasi=quasi, k=5, max_suppressed_share=0.1,
                sensitive=["systolic_band", "bmi_band", "medication_class"]))
            started = time.perf_counter()
            doc = exports.create(db, key, researcher=researcher, study_id=approved["study_id"])
            whole = time.perf_counter() - started
            print(f"  {'whole export (exports.create)':48} {whole:8.2f} s")
            tracemalloc.start()
            exports.create(db, key, researcher=researcher, study_id=approved["study_id"])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"\nparticipants {len(members):,}; in the cohort {len(pairs):,}; exported "
              f"{doc['patients']:,} ({doc['suppressed']:,} suppressed, "
              f"{doc['suppressed'] / max(1, len(pairs)):.1%}); k reached {doc['k_reached']}, "
              f"l-diversity {doc['l_diversity']}; levels {doc['levels']}")
        print(f"gate alone: k {result.k}, suppressed {result.suppressed:,}")
        print(f"whole export {whole:.2f} s; peak Python memory of an export (tracemalloc) "
              f"{peak / 2**20:.1f} MB; package {len(doc['package']):,} bytes; load "
              f"{os.getloadavg()[0]:.2f}")
    finally:
        if database:
            database.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

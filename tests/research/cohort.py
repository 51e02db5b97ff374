"""A seeded research cohort for the export tests: patients with full identifying profiles
and records written through the models (encrypted and sealed as in the app), on top of
tests/research/world.py's research world.

Every identifying value is distinctive (names, e-mails, phones, postcodes, birth dates,
free text), so a test can scan an export for each of them.
"""
import random
from datetime import date

from models.clinical import records
from models.people import users
from models.research import exports
from models.storage.db import get_db

CODES = ("E11.9", "E11.65", "I10", "E11.2")
DRUGS = ("Metformin", "Quorvax 20 mg", "Amlodipine")


def add_patients(world, make_account, count, seed=1, postcode=None, codes=CODES,
                 years=(2019, 2024)):
    """`count` patients with profiles and a diagnosis and vitals each (in the study's years)."""
    rng = random.Random(seed)
    doctor = getattr(world, "doctor", None) or make_account(users.DOCTOR, name="Dr Cohort")
    world.doctor = doctor
    made = []
    for _ in range(count):
        n = len(world.patients) + len(made)
        born = date(rng.randint(1930, 2000), rng.randint(1, 12), rng.randint(1, 28))
        profile = {"date_of_birth": born.isoformat(), "sex": rng.choice(("female", "male")),
                   "email": f"patient{n}.zq@example.org", "phone": f"+1 555 01{n:04d}",
                   "postcode": postcode or rng.choice(("12345", "12377", "02139", "03601"))}
        patient = make_account(users.PATIENT, name=f"Quillon Patient{n} Marbleby",
                               profile=profile)
        write(world, patient, "diagnosis", {
            "code": rng.choice(codes), "clinical_status": "active",
            "description": f"Zebrafinch narrative {n} of Quillon Patient{n}",
            "onset": f"{rng.randint(*years)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"})
        write(world, patient, "general", {"systolic_mmhg": str(rng.randint(100, 185)),
                                          "diastolic_mmhg": "70", "weight_kg": "80.0",
                                          "height_cm": "175.0", "blood_group_abo": "O",
                                          "blood_group_rh": "+"})
        made.append(patient)
    world.patients.extend(made)
    return made


def consenting(world, make_account, count, **study):
    """An approved study (at most half suppressed) over `count` alike patients (one ZIP code,
    type 2 diabetes in 2020-2024), every patient of the world in for all research."""
    add_patients(world, make_account, count, postcode="12345", codes=("E11.9", "E11.65"),
                 years=(2020, 2024))
    for patient in world.patients:
        world.opt_in_all(patient)
    return world.approved_study(**dict({"max_suppression": 50}, **study))


def write(world, patient, type_name, raw):
    with world.app.app_context():
        return records.create(get_db(), key(world), author=world.doctor,
                              patient_id=patient["human_id"], type_name=type_name, raw=raw,
                              max_bytes=10**6)


def export(world, study, now=None):
    with world.app.app_context():
        return exports.create(get_db(), key(world),
                              researcher=world.researcher, study_id=study["study_id"], now=now)


def key(world):
    return world.app.extensions["medledger"]["data_key"]

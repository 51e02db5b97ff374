"""Research exports for the shared drills (reconcile every kind, the batched audit's history,
the authority drill), built on tests/records/world.py's world: five consenting patients with a
diabetes diagnosis each, an approved study over them, and its researcher."""
from models.clinical import records
from models.people import users
from models.research import consent, exports
from tests.research import drill as research

PASSWORD = "correct horse battery"


def key_of(world):
    return world.app.extensions["medledger"]["data_key"]


def ready(world, db):
    """(researcher, approved study) with five consenting patients in its cohort."""
    for n in range(5):
        patient = users.create_user(
            db, username=f"drillcohort{n}{db.users.count_documents({})}", role=users.PATIENT,
            name=f"Cohort Patient {n}", password=PASSWORD, rounds=4,
            profile={"date_of_birth": "1970-01-01", "sex": "female", "postcode": "12345"})
        records.create(db, key_of(world), author=world.doctor, patient_id=patient["human_id"],
                       type_name="diagnosis", raw={"code": "E11.9", "clinical_status": "active",
                                                   "description": "Type 2 diabetes",
                                                   "onset": "2021-01-01"}, max_bytes=10**6)
        consent.set_choice(db, patient=patient, choice=consent.ALL)
    return research.researcher(world, db), research.approved(world, db, max_suppression=50)


def create(world, db):
    """An action that exports an approved study (the cohort made first)."""
    researcher, study = ready(world, db)
    return lambda: exports.create(db, key_of(world), researcher=researcher,
                                  study_id=study["study_id"])


def download(world, db):
    """An action that downloads an export made first."""
    researcher, study = ready(world, db)
    made = exports.create(db, key_of(world), researcher=researcher, study_id=study["study_id"])
    return lambda: exports.download(db, researcher=researcher, export_id=made["export_id"])


def history(world, db):
    """An export created, and another created and downloaded."""
    create(world, db)()
    download(world, db)()
    return db.research_exports.find_one({"downloaded_at": {"$ne": None}})

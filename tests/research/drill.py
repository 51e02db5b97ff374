"""Research events for the shared drills (reconcile every kind, the batched audit's history,
the authority drill), built on tests/records/world.py's world."""
from models.people import organizations, users
from models.research import consent, studies
from tests.research.world import STUDY

PASSWORD = "correct horse battery"


def researcher(world, db, username="drillresearcher"):
    org = organizations.by_name(db, "Drill Research Institute") or organizations.create(
        db, name="Drill Research Institute", kind=organizations.RESEARCH)
    return users.by_username(db, username) or users.create_user(
        db, username=username, role=users.RESEARCHER, name="Drill Researcher",
        password=PASSWORD, rounds=4, org_id=org["human_id"])


def study(world, db, **overrides):
    return studies.register(db, researcher=researcher(world, db), **dict(STUDY, **overrides))


def approved(world, db, **overrides):
    pending = study(world, db, **overrides)
    return studies.approve(db, actor=world.admin, study_id=pending["study_id"],
                           reason="Ethics approval checked")


def history(world, db):
    """Every research kind: studies registered, approved and rejected; consents changed."""
    made = {"approved": approved(world, db)}
    made["rejected"] = studies.reject(db, actor=world.admin,
                                      study_id=study(world, db)["study_id"],
                                      reason="No ethics approval attached")
    made["consent"] = consent.set_choice(db, patient=world.patient, choice=consent.ALL)
    consent.leave_study(db, patient=world.patient, study_id=made["approved"]["study_id"])
    made["named"] = consent.join_study(db, patient=world.other_patient,
                                       study_id=made["approved"]["study_id"])
    return made

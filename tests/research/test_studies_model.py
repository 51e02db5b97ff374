"""A study's states: pending → approved | rejected, once; a study edited in the database
decides nothing."""
import pytest

from models.clinical import records
from models.consent import access, workflow
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import organizations
from models.people import users as accounts
from models.research import consent, studies
from models.storage.db import get_db
from tests.records.world import VALID


@pytest.mark.parametrize("first, second", [("approved", "rejected"), ("rejected", "approved"),
                                           ("approved", "approved")])
def test_a_decided_study_is_never_decided_again(world, first, second):
    study = world.study()
    world.call(studies.decide, actor=world.admin, study_id=study["study_id"], action=first,
               reason="First decision")
    with pytest.raises(Conflict):
        world.call(studies.decide, actor=world.admin, study_id=study["study_id"], action=second,
                   reason="Second decision")
    stored = world.call(studies.get, study["study_id"])
    assert stored["status"] == first and [e["action"] for e in stored["history"]] == [
        "registered", first]


def test_only_an_administrator_decides(world, make_account):
    study = world.study()
    with pytest.raises(Forbidden):
        world.call(studies.approve, actor=world.researcher, study_id=study["study_id"],
                   reason="Approving my own study")
    with pytest.raises(InvalidInput):
        world.call(studies.decide, actor=world.admin, study_id=study["study_id"], action="",
                   reason="")
    assert world.call(studies.get, study["study_id"])["status"] == studies.PENDING


def test_a_study_approved_in_the_database_decides_nothing(app, world):
    study = world.study()
    get_db(app).studies.update_one({"_id": study["_id"]}, {"$set": {"status": "approved"}})
    assert world.call(studies.get, study["study_id"]) is None
    assert world.call(studies.approved) == []
    with pytest.raises(NotFound):
        world.join(world.patients[0], study)
    assert get_db(app).research_consents.count_documents({"choice": consent.NAMED}) == 0


def test_a_hospital_researcher_reads_nothing_the_hospital_was_granted(app, make_account):
    """The researcher role is not a reader: a grant to the researcher's own hospital opens
    nothing to them (exports are their only way to data)."""
    with app.app_context():
        db = get_db()
        hospital = organizations.create(db, name="Research Hospital", kind=organizations.HOSPITAL)
    doctor = make_account(accounts.DOCTOR, org_id=hospital["human_id"])
    researcher = make_account(accounts.RESEARCHER, org_id=hospital["human_id"])
    patient = make_account(accounts.PATIENT)
    with app.app_context():
        db = get_db()
        key = app.extensions["medledger"]["data_key"]
        note = records.create(db, key, author=doctor, patient_id=patient["human_id"],
                              type_name="note", raw=dict(VALID["note"]), uploads=[],
                              max_bytes=10**6)
        workflow.grant_proactively(db, patient=patient, grantee=hospital["human_id"],
                                   scope_kind="all", purpose="treatment", duration_days=7,
                                   one_time=False)
        decision = access.decide(db, researcher, note)
    assert not decision.allowed and decision.reason == access.NOT_FOR_ROLE

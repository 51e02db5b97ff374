"""A study's states: pending → approved | rejected, once; a study edited in the database
decides nothing."""
import pytest

from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.research import consent, studies
from models.storage.db import get_db


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

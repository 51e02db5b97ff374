"""participants(): the one function an export asks, over every way a choice can change."""
import pytest

from models.core.errors import Conflict, NotFound
from models.research import consent
from models.storage.db import get_db


def test_nobody_is_in_by_default(world):
    study = world.approved_study()
    assert world.participants(study) == []


def test_all_research_named_study_and_later_opt_outs(world):
    study, other = world.approved_study(), world.approved_study(title="A second study here")
    alice, bob, carol = world.patients
    world.opt_in_all(alice)
    world.join(bob, study)
    world.join(carol, other)
    assert world.participants(study) == sorted([alice["human_id"], bob["human_id"]])
    assert world.participants(other) == sorted([alice["human_id"], carol["human_id"]])
    world.leave(alice, study)           # still in for all research, but not this study
    world.opt_out(bob)                  # out of everything, named studies too
    assert world.participants(study) == []
    assert world.participants(other) == sorted([alice["human_id"], carol["human_id"]])
    world.join(alice, study)            # back in
    assert world.participants(study) == [alice["human_id"]]


def test_only_approved_studies_can_be_joined(world):
    pending = world.study()
    with pytest.raises(NotFound):
        world.join(world.patients[0], pending)


def test_a_choice_already_made_is_a_conflict(world):
    world.opt_in_all(world.patients[0])
    with pytest.raises(Conflict):
        world.opt_in_all(world.patients[0])


def test_a_forged_or_unsealed_opt_in_counts_as_out(app, world):
    study = world.approved_study()
    alice, bob, _ = world.patients
    world.opt_in_all(alice)
    world.opt_in_all(bob)
    db = get_db(app)
    db.research_consents.update_one({"patient_id": alice["human_id"]},
                                    {"$set": {"excluded": []}, "$unset": {"auth": ""}})
    db.research_consents.update_one({"patient_id": bob["human_id"]},
                                    {"$push": {"pending_seals": {"kind": consent.CHANGED_KIND}}})
    assert world.participants(study) == []


def test_every_change_is_a_sealed_version(app, world):
    study = world.approved_study()
    alice = world.patients[0]
    world.opt_in_all(alice)
    world.leave(alice, study)
    db = get_db(app)
    blocks = list(db.ledger_blocks.find({"kind": consent.CHANGED_KIND}))
    versions = sorted(doc["version"] for doc in db.research_consents.find(
        {"patient_id": alice["human_id"]}))
    assert versions == [1, 2] and len(blocks) == 2
    assert all(doc["sealed_height"] is not None for doc in db.research_consents.find())

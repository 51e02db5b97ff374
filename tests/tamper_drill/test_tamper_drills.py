"""Tamper drills against the app on the embedded server: an insider with full write access to
MongoDB edits the data directly, then an auditor runs the full audit from the page (background
job) and the report must name the right problem at the right place."""
import os

import pytest
from bson import Decimal128
from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt
from ledger.block import block_hash, header_of

from models.clinical import records
from models.sealing import checkpoint_log, checkpoints
from models.sealing.seam import store_for
from models.storage import crypto
from models.storage.db import get_db
from tests.auditor_support import login, populate, web_audit

pytestmark = pytest.mark.integration


@pytest.fixture
def drill(sealed_world, client):
    """A populated world, a checkpoint the auditor keeps, a sound first audit."""
    made = populate(sealed_world)
    with sealed_world.app.app_context():
        made["held"] = checkpoints.create(get_db())["note"]
    login(client, sealed_world.auditor)
    assert web_audit(client, sealed_world.app)["report"]["ok"]
    made["db"] = get_db(sealed_world.app)
    made["key"] = sealed_world.key
    return made


def found(job):
    return {(p["kind"], p["height"], p["record"], p["version"], p["attribute"])
            for p in job["report"]["problems"]}


def reencrypt(db, key, doc, change):
    payload = crypto.decrypt(key, doc["record_id"], doc["version"], doc["box"])
    change(payload)
    box = crypto.encrypt(key, doc["record_id"], doc["version"], payload)
    db.records.update_one({"_id": doc["_id"]}, {"$set": {"box": box}})


def test_a_clinical_value_edited_and_properly_reencrypted(app, client, drill):
    record = drill["records"]["general"]
    reencrypt(drill["db"], drill["key"], record,
              lambda payload: payload["data"].update(weight_kg="99.9"))
    job = web_audit(client, app)
    assert found(job) == {("attribute-mismatch", record["sealed_height"], record["record_id"], 1,
                           "data.weight_kg")}
    assert job["report"]["first_failing_height"] == record["sealed_height"]


def test_a_flipped_ciphertext_byte(app, client, drill):
    record = drill["records"]["prescription"]
    doc = drill["db"].records.find_one({"_id": record["_id"]})
    flipped = bytearray(doc["box"]["ciphertext"])
    flipped[7] ^= 0x01
    drill["db"].records.update_one({"_id": record["_id"]},
                                   {"$set": {"box.ciphertext": bytes(flipped)}})
    job = web_audit(client, app)
    assert found(job) == {("attribute-mismatch", record["sealed_height"], record["record_id"], 1,
                           None)}
    assert "AES-GCM tag check failed" in job["report"]["problems"][0]["detail"]


def test_a_replaced_salt(app, client, drill):
    record = drill["records"]["general"]
    reencrypt(drill["db"], drill["key"], record,
              lambda payload: payload["salts"].update({"data.blood_group_abo": new_salt()}))
    grant = drill["grant"]
    drill["db"].grants.update_one({"_id": grant["_id"]},
                                  {"$set": {"seals.granted.salts.purpose": new_salt()}})
    job = web_audit(client, app)
    assert found(job) == {
        ("attribute-mismatch", record["sealed_height"], record["record_id"], 1,
         "data.blood_group_abo"),
        ("attribute-mismatch", grant["sealed_height"], f"grant={grant['grant_id']}", None,
         "purpose"),
    }


@pytest.mark.parametrize("salts", [["x"], "x", None], ids=["a list", "a string", "null"])
def test_salts_replaced_by_something_that_is_no_mapping(app, client, drill, salts):
    """Every attribute of the block is named, and the audit finishes (it crashed on
    `salts.get`: the job failed instead of reporting the tampering)."""
    grant = drill["grant"]
    drill["db"].grants.update_one({"_id": grant["_id"]},
                                  {"$set": {"seals.granted.salts": salts}})
    job = web_audit(client, app)
    block = store_for(drill["db"]).get_block(grant["sealed_height"])
    named = found(job)
    assert {(kind, height, record) for kind, height, record, _, _ in named} == {
        ("attribute-mismatch", grant["sealed_height"], f"grant={grant['grant_id']}")}
    assert len(named) == block["attr_count"] and ("attribute-mismatch", grant["sealed_height"],
                                                  f"grant={grant['grant_id']}", None,
                                                  "purpose") in named


def test_a_deciding_field_given_a_value_with_no_json_form(app, client, drill):
    """A Decimal128 where the grant's scope was: the page's audit finishes and names it (the
    authority check raised TypeError, and the job failed)."""
    grant = drill["grant"]
    drill["db"].grants.update_one({"_id": grant["_id"]}, {"$set": {"scope": Decimal128("1")}})
    job = web_audit(client, app)
    assert found(job) == {
        ("attribute-mismatch", grant["sealed_height"], f"grant={grant['grant_id']}", None, "scope"),
        ("unauthenticated-document", None, grant["grant_id"], None, "scope"),
    }


def test_a_deleted_block(app, client, drill):
    height = drill["records"]["diagnosis"]["sealed_height"]
    drill["db"].ledger_blocks.delete_one({"_id": height})
    job = web_audit(client, app)
    kinds = {(p["kind"], p["height"]) for p in job["report"]["problems"]}
    assert ("missing-block", height) in kinds
    assert job["report"]["first_failing_height"] == height
    assert all(p["height"] is None or p["height"] >= height for p in job["report"]["problems"])


def test_a_truncated_tail(app, client, drill):
    db = drill["db"]
    size = db.ledger_blocks.count_documents({})
    db.ledger_blocks.delete_many({"height": {"$gte": size - 3}})
    job = web_audit(client, app)
    problems = {(p["kind"], p["height"], p.get("height_end")) for p in job["report"]["problems"]}
    # The three removed blocks sealed the approval, the emergency and the read: their
    # documents now name blocks that are not on the chain.
    assert problems == {("truncated", size - 3, size - 1), ("unsealed-document", size - 3, None),
                        ("unsealed-document", size - 2, None), ("unsealed-document", size - 1, None)}
    named = {p["record"] for p in job["report"]["problems"] if p["kind"] == "unsealed-document"}
    assert named == {drill["approved"]["grant_id"], drill["emergency"]["emergency_id"],
                     f"{drill['read']['record_id']} v1 read {drill['read']['_id']}"}


def rewrite_chain_from(db, key, record, new_weight):
    """The thorough insider: edit a record, re-seal its block with recomputed hashes, re-link
    every later block, and remove the stored checkpoints that would betray the rewrite."""
    doc = db.records.find_one({"_id": record["_id"]})
    payload = crypto.decrypt(key, doc["record_id"], doc["version"], doc["box"])
    payload["data"]["weight_kg"] = new_weight
    db.records.update_one({"_id": doc["_id"]}, {"$set": {
        "box": crypto.encrypt(key, doc["record_id"], doc["version"], payload)}})
    attributes = records.sealed_attributes(doc, payload["data"])
    leaves = attribute_leaf_hashes(attributes, payload["salts"])
    prev = None
    for height in range(doc["sealed_height"], db.ledger_blocks.count_documents({})):
        block = db.ledger_blocks.find_one({"_id": height})
        if height == doc["sealed_height"]:
            block["attr_leaves"] = [leaf.hex() for leaf in leaves]
            block["attr_root"] = attribute_root(leaves).hex()
        else:
            block["prev_hash"] = prev
        block["hash"] = block_hash(header_of(block)).hex()
        db.ledger_blocks.replace_one({"_id": height}, block)
        prev = block["hash"]
    db.ledger_checkpoints.delete_many({})
    db.ledger_meta.delete_one({"_id": "checkpoints"})
    db.ledger_nodes.delete_many({})


def rewritten(db, record):
    """The heights the rewrite re-hashed: the insider could not give them the app's code."""
    return set(range(db.records.find_one({"_id": record["_id"]})["sealed_height"],
                     db.ledger_blocks.count_documents({})))


def test_the_whole_chain_rewritten_is_caught_by_a_held_checkpoint(app, client, drill):
    record = drill["records"]["general"]
    rewrite_chain_from(drill["db"], drill["key"], record, "88.8")
    os.remove(checkpoint_log.path(app))  # the app host's copy gone too: only a held one is left
    # Even so, every re-hashed block lacks the app's authentication code ...
    alone = web_audit(client, app)["report"]["problems"]
    assert {(p["kind"], p["height"]) for p in alone} == \
        {("unauthenticated-block", height) for height in rewritten(drill["db"], record)}
    # ... and the held checkpoint proves the rewrite itself.
    job = web_audit(client, app, held=drill["held"])
    size = drill["db"].ledger_blocks.count_documents({})
    assert {(p["kind"], p["height"], p.get("height_end")) for p in job["report"]["problems"]
            if p["kind"] != "unauthenticated-block"} == \
        {("inconsistent-with-checkpoint", 0, size - 1)}
    verdict = client.post("/auditor/checkpoints/compare", data={"note": drill["held"]})
    assert b'data-verdict="rewritten"' in verdict.data


def test_the_whole_chain_rewritten_is_caught_by_the_checkpoints_kept_on_the_app_host(
        app, client, runner, drill):
    """Stored checkpoints deleted and the chain rewritten with recomputed hashes: the cron's
    plain `flask ledger verify`, and the auditor's audit without a held checkpoint, catch it
    from the log of checkpoints kept outside the database."""
    rewrite_chain_from(drill["db"], drill["key"], drill["records"]["general"], "88.8")
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "inconsistent-with-checkpoint" in result.output
    job = web_audit(client, app)
    assert {p["kind"] for p in job["report"]["problems"]} == {"inconsistent-with-checkpoint",
                                                              "unauthenticated-block"}


def test_a_grant_widened_in_the_database(app, client, drill):
    grant, approved = drill["grant"], drill["approved"]
    drill["db"].grants.update_one({"_id": grant["_id"]}, {"$set": {"scope": {"kind": "all"}}})
    drill["db"].grants.update_one({"_id": approved["_id"]}, {"$set": {
        "valid_until": approved["valid_until"].replace(year=2099)}})
    job = web_audit(client, app)
    assert found(job) == {
        ("attribute-mismatch", grant["sealed_height"], f"grant={grant['grant_id']}", None, "scope"),
        ("attribute-mismatch", approved["sealed_height"],
         f"request={approved['request_id']},grant={approved['grant_id']}", None, "valid_until"),
        # ... and each grant's own authority code names the field.
        ("unauthenticated-document", None, grant["grant_id"], None, "scope"),
        ("unauthenticated-document", None, approved["grant_id"], None, "valid_until"),
    }


def test_a_deleted_record_document(app, client, drill):
    record = drill["records"]["imaging"]
    drill["db"].records.delete_one({"_id": record["_id"]})
    job = web_audit(client, app)
    assert found(job) == {("missing-document", record["sealed_height"], record["record_id"], 1,
                           None)}


def test_a_copied_read_log_entry(app, client, drill):
    """The copy's attributes match the block as well as the original's do: only the second
    claim on one block gives it away."""
    read = drill["db"].record_reads.find_one({"_id": drill["read"]["_id"]})
    copy = dict(read)
    del copy["_id"]
    copy_id = drill["db"].record_reads.insert_one(copy).inserted_id
    job = web_audit(client, app)
    problems = job["report"]["problems"]
    assert [(p["kind"], p["height"]) for p in problems] == [
        ("unsealed-document", read["sealed_height"])]
    assert str(read["_id"]) in problems[0]["detail"] and str(copy_id) in problems[0]["detail"]
    assert "2 documents name block" in problems[0]["detail"]

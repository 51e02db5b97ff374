"""`flask ledger verify --workers N`: the structure and checkpoints in N processes.

mongomock is visible to this process only, so the workers get a copy of the blocks; the same
command against a server passes each worker its address (models/sealing/parallel_audit.py).
"""
import pytest
from ledger.audit import audit
from ledger.block import block_hash, header_of

from models.sealing import checkpoint_log, seam, trust
from models.storage.db import get_db
from tests.auditor_support import populate


def test_workers_report_the_single_process_structural_verdict(app, runner, sealed_world):
    populate(sealed_world)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    result = runner.invoke(args=["ledger", "verify", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SOUND: ")
    assert "attribute contents not checked" in result.output  # says what it left out
    with app.app_context():
        size = get_db(app).ledger_blocks.count_documents({})
    assert f"{size} blocks, size {size}" in result.output


def test_workers_name_a_rehashed_block_like_the_full_audit(app, runner, sealed_world):
    populate(sealed_world)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    with app.app_context():
        db = get_db(app)
        block = db.ledger_blocks.find_one({"_id": 3})
        block["actor"] = "someone-else"
        block["hash"] = block_hash(header_of(block)).hex()
        db.ledger_blocks.replace_one({"_id": 3}, block)
        kept = checkpoint_log.latest(app)  # the CLI checks the checkpoint kept outside too
        expected = audit(seam.store_for(db), verifiers=trust.verifiers(app), held_checkpoints=[kept])
    result = runner.invoke(args=["ledger", "verify", "--workers", "3", "--quiet"])
    assert result.exit_code == 1
    assert result.output.strip().split("\n") == expected.lines()
    assert any(line.startswith("broken-link height=4") for line in expected.lines())


@pytest.mark.integration
def test_workers_read_the_real_server_themselves(app, runner, sealed_world):
    """On a server each spawned worker opens its own client (no copy of the blocks)."""
    populate(sealed_world)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    sound = runner.invoke(args=["ledger", "verify", "--workers", "2"])
    assert sound.exit_code == 0 and sound.output.startswith("SOUND: "), sound.output
    with app.app_context():
        get_db(app).ledger_blocks.update_one({"_id": 5}, {"$set": {"actor": "forger"}})
    tampered = runner.invoke(args=["ledger", "verify", "--workers", "2", "--quiet"])
    assert tampered.exit_code == 1
    assert tampered.output.startswith("bad-block-hash height=5 "), tampered.output

"""`flask ledger verify --since-last`: the tail after the last audited checkpoint only.

Sound and tampered tails, a tampered prefix (not seen: the full audit's job, said in
docs/scaling.md), and a missing or forged anchor (the full audit runs instead).
"""
from models.sealing import incremental_audit
from models.storage.db import get_db
from tests.auditor_support import populate


def _audited(app, runner, world):
    """A populated chain, checkpointed and fully audited; the anchor's size."""
    populate(world)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    return _anchor_size(app)


def _anchor_size(app):
    with app.app_context():
        return get_db(app).audit_state.find_one({"_id": incremental_audit.ANCHOR_ID})["size"]


def _edit(app, height):
    """An insider's edit of one block header, its hash left alone."""
    with app.app_context():
        get_db(app).ledger_blocks.update_one({"_id": height}, {"$set": {"actor": "forger"}})


def _grow(app, runner, world, count=3):
    for _ in range(count):
        world.write(world.doctor, "general")
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    with app.app_context():
        return get_db(app).ledger_blocks.count_documents({})


def test_a_sound_tail_is_checked_alone_and_moves_the_anchor(app, runner, sealed_world):
    anchor = _audited(app, runner, sealed_world)
    size = _grow(app, runner, sealed_world)
    result = runner.invoke(args=["ledger", "verify", "--since-last"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"SOUND: {size - anchor} blocks, size {size}, ")
    assert f"incremental: blocks {anchor}.." in result.output
    assert _anchor_size(app) == size
    full = runner.invoke(args=["ledger", "verify"]).output  # the same log root, all read
    assert _root(full) == _root(result.output)


def _root(verdict):
    return verdict.split(" root ", 1)[1].split(",", 1)[0]


def test_a_tampered_tail_is_named(app, runner, sealed_world):
    anchor = _audited(app, runner, sealed_world)
    _grow(app, runner, sealed_world)
    _edit(app, anchor + 1)
    result = runner.invoke(args=["ledger", "verify", "--since-last", "--quiet"])
    assert result.exit_code == 1
    assert result.output.startswith(f"bad-block-hash height={anchor + 1} "), result.output
    assert _anchor_size(app) == anchor  # a failed run leaves the anchor where it was


def test_a_tampered_prefix_is_left_to_the_full_audit(app, runner, sealed_world):
    anchor = _audited(app, runner, sealed_world)
    _grow(app, runner, sealed_world)
    _edit(app, 2)
    assert anchor > 3
    assert runner.invoke(args=["ledger", "verify", "--since-last"]).exit_code == 0
    full = runner.invoke(args=["ledger", "verify", "--quiet"])
    assert full.exit_code == 1 and "bad-block-hash height=2 " in full.output


def test_no_anchor_runs_the_full_audit(app, runner, sealed_world):
    _audited(app, runner, sealed_world)
    size = _grow(app, runner, sealed_world)
    with app.app_context():
        get_db(app).audit_state.delete_one({"_id": incremental_audit.ANCHOR_ID})
    result = runner.invoke(args=["ledger", "verify", "--since-last"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"SOUND: {size} blocks, size {size}, ")
    assert "since-last: no audit has been recorded yet; ran the full audit instead" in result.output


def test_a_forged_anchor_runs_the_full_audit_which_names_the_damage(app, runner, sealed_world):
    anchor = _audited(app, runner, sealed_world)
    _grow(app, runner, sealed_world)
    with app.app_context():
        db = get_db(app)
        marker = db.audit_state.find_one({"_id": incremental_audit.ANCHOR_ID})
        checkpoint = db.ledger_checkpoints.find_one({"_id": marker["checkpoint"]})
        peaks = list(checkpoint["peaks"])
        peaks[-1] = "00" * 32
        db.ledger_checkpoints.update_one({"_id": checkpoint["_id"]}, {"$set": {"peaks": peaks}})
        db.ledger_blocks.update_one({"_id": 2}, {"$set": {"actor": "forger"}})
    result = runner.invoke(args=["ledger", "verify", "--since-last"])
    assert result.exit_code == 1
    assert "bad-block-hash height=2 " in result.output  # the full audit ran
    assert "compact range does not fold to its root; ran the full audit instead" in result.output
    assert anchor > 2

"""`flask ledger …`: verify for cron, checkpoint, export for offline audit, keys, reconcile."""
import json
import os
import stat
import subprocess
import sys

import mongomock
import pytest
from ledger.notes import SigningKey, TrustFile, VerifierKey, verify_checkpoint

from app import create_app
from models.clinical import records
from models.sealing import reconcile
from models.sealing import seam as ledger_service
from models.sealing import trust as ledger_trust
from models.storage.db import get_db
from tests.auditor_support import GENERAL, populate
from tests.conftest import make_config

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.fixture
def made(sealed_world):
    return populate(sealed_world)


def test_verify_exits_0_on_a_sound_chain(runner, made):
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SOUND: ")


def test_verify_exits_1_with_one_line_per_problem(app, runner, made):
    db = get_db(app)
    db.grants.update_one({"_id": made["grant"]["_id"]}, {"$set": {"scope": {"kind": "all"}}})
    db.records.delete_one({"_id": made["records"]["note"]["_id"]})
    result = runner.invoke(args=["ledger", "verify", "--quiet"])
    assert result.exit_code == 1
    lines = result.output.strip().split("\n")
    # the deleted version 1, the widened grant (its block and its authority code), nothing else
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"missing-document height={made['records']['note']['sealed_height']} "
                               f"record={made['records']['note']['record_id']} version=1")
    assert lines[1].startswith(f"attribute-mismatch height={made['grant']['sealed_height']}")
    assert "attribute=scope" in lines[1]
    assert lines[2].startswith(f"unauthenticated-document height=- record={made['grant']['grant_id']}")
    assert "attribute=scope" in lines[2]


def test_verify_with_a_held_checkpoint_file(app, runner, made, tmp_path):
    note = runner.invoke(args=["ledger", "checkpoint"]).output
    held = tmp_path / "held.note"
    held.write_text(note)
    get_db(app).ledger_blocks.delete_many({"height": {"$gte": 10}})
    get_db(app).ledger_meta.delete_many({})
    get_db(app).ledger_checkpoints.delete_many({})
    result = runner.invoke(args=["ledger", "verify", "--held", str(held)])
    assert result.exit_code == 1
    assert "truncated height=10" in result.output


def test_checkpoint_prints_a_signed_note(app, runner, made):
    result = runner.invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0
    cp, _ = verify_checkpoint(result.output, [ledger_trust.signing_key(app).public()])
    assert cp.size == get_db(app).ledger_blocks.count_documents({})


def _offline_audit(directory, *extra):
    return subprocess.run([sys.executable, "-m", "ledger", "audit-export", str(directory), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_export_is_audited_offline_with_no_database(app, runner, made, tmp_path):
    runner.invoke(args=["ledger", "checkpoint"])
    out = tmp_path / "export"
    result = runner.invoke(args=["ledger", "export", str(out)])
    assert result.exit_code == 0, result.output
    size = get_db(app).ledger_blocks.count_documents({})
    assert f"Exported {size} blocks and 1 checkpoints" in result.output
    assert (out / "manifest.json").exists() and (out / "ledger.pub").exists()
    offline = _offline_audit(out, "--pubkey", str(out / "ledger.pub"))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert f"SOUND: {size} blocks" in offline.stdout
    assert "attribute contents not checked" in offline.stdout
    # Tampering with the exported files is caught offline too.
    chunk = out / "blocks-000000.jsonl"
    lines = chunk.read_text().split("\n")
    block = json.loads(lines[4])
    block["actor"] = "act-forged"
    lines[4] = json.dumps(block, sort_keys=True, separators=(",", ":"))
    chunk.write_text("\n".join(lines))
    tampered = _offline_audit(out, "--pubkey", str(out / "ledger.pub"))
    assert tampered.returncode == 1 and "bad-block-hash height=4" in tampered.stdout


def test_keygen_writes_a_private_key_file_and_refuses_to_overwrite(app, runner, tmp_path):
    out = tmp_path / "next.key"
    result = runner.invoke(args=["ledger", "keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    key = SigningKey.load(out)
    assert VerifierKey.load(str(out) + ".pub") == key.public()
    assert key.public().fingerprint in result.output
    again = runner.invoke(args=["ledger", "keygen", "--out", str(out)])
    assert again.exit_code != 0 and "refusing to overwrite" in again.output


def test_rotate_key_announces_the_new_key_on_the_chain(app, runner, made, tmp_path):
    db = get_db(app)
    old = ledger_trust.signing_key(app)
    runner.invoke(args=["ledger", "checkpoint"])
    result = runner.invoke(args=["ledger", "rotate-key", "--yes"])
    assert result.exit_code == 0, result.output
    new = SigningKey.load(app.config["LEDGER_KEY_FILE"])
    assert new.key_id != old.key_id and ledger_trust.signing_key(app).key_id == new.key_id
    assert stat.S_IMODE(os.stat(app.config["LEDGER_KEY_FILE"]).st_mode) == 0o600
    retired = app.config["LEDGER_KEY_FILE"] + f".retired-{old.key_id.hex()}"
    assert SigningKey.load(retired).key_id == old.key_id
    rotation = db.ledger_blocks.find_one({"kind": "checkpoint"})
    assert rotation["subject"] == {"key": new.key_id.hex()}
    trust = TrustFile.load(ledger_trust.trust_file_path(app))
    assert [(str(e.vkey), e.from_size, e.to_size) for e in trust.entries] == [
        (str(old.public()), 0, rotation["height"] + 1),
        (str(new.public()), rotation["height"] + 1, None)]
    assert db.meta.find_one({"_id": "keys"})["ledger_keys"] == [old.public().fingerprint,
                                                                new.public().fingerprint]
    # New events are checkpointed with the new key; every old checkpoint still verifies.
    with app.test_request_context():
        ledger_service.seal("access.used", {"request": "REQ-000999"}, None, {"n": 1})
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
    # 3 stored, and the latest again as kept outside the database (checkpoint_log)
    assert " 4 checkpoints" in verify.output
    out = tmp_path / "export"
    runner.invoke(args=["ledger", "export", str(out)])
    offline = _offline_audit(out, "--trust", str(out / "ledger-trust.json"))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert (out / "rotations" / f"{rotation['height']:012d}.json").exists()
    assert "but for key rotations" in offline.stdout  # checked offline against the block


def test_the_app_restarts_with_the_rotated_key(tmp_path):
    shared = mongomock.MongoClient(tz_aware=True)
    app = create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    app.test_cli_runner().invoke(args=["ledger", "rotate-key", "--yes"])
    restarted = create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    assert restarted.extensions["medledger"]["ledger_key"].key_id == \
        ledger_trust.signing_key(app).key_id


def _record_without_block(world, monkeypatch, flag=reconcile.FAULT_FLAG):
    """Write a record whose process 'dies' right before the append (the injected fault), or
    right after it with `flag=reconcile.FAULT_AFTER_APPEND`."""
    class Died(BaseException):
        pass

    def die(code):
        raise Died(code)
    monkeypatch.setattr(reconcile.os, "_exit", die)
    world.app.config[flag] = "record.created"
    with pytest.raises(Died):
        world.write(world.doctor, "general", raw=GENERAL)
    world.app.config[flag] = None
    return get_db(world.app).records.find_one({"sealed_height": None})


def test_reconcile_seals_a_record_left_without_its_block(app, runner, sealed_world, monkeypatch):
    orphan = _record_without_block(sealed_world, monkeypatch)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 1
    result = runner.invoke(args=["ledger", "reconcile", "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert f"{orphan['record_id']} v1" in result.output and ": sealed:" in result.output
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_reconcile_links_a_block_appended_just_before_the_crash(app, runner, sealed_world,
                                                                monkeypatch):
    record = _record_without_block(sealed_world, monkeypatch, reconcile.FAULT_AFTER_APPEND)
    db = get_db(app)
    appended = db.ledger_blocks.find_one({"subject.record": record["record_id"]})
    blocks = db.ledger_blocks.count_documents({})
    result = runner.invoke(args=["ledger", "reconcile", "--grace", "0"])
    assert result.exit_code == 0 and ": linked:" in result.output
    assert db.records.find_one({"_id": record["_id"]})["sealed_height"] == appended["height"]
    assert db.ledger_blocks.count_documents({}) == blocks


def test_reconcile_reports_what_it_cannot_repair(app, runner, made):
    db = get_db(app)
    db.records.delete_one({"_id": made["records"]["allergy"]["_id"]})
    db.access_requests.update_one({"_id": made["request"]["_id"]}, {"$set": {"sealed_height": None}})
    blocks = db.ledger_blocks.count_documents({})
    result = runner.invoke(args=["ledger", "reconcile"])
    assert result.exit_code == 1
    assert (f"missing-document records record={made['records']['allergy']['record_id']},version=1"
            in result.output)
    assert f"unsealed-document access_requests {made['request']['request_id']}: reported" \
        in result.output
    assert "2 left for a person" in result.output
    assert db.ledger_blocks.count_documents({}) == blocks


def test_reconcile_refuses_a_record_whose_ciphertext_was_altered(app, runner, sealed_world,
                                                                 monkeypatch):
    orphan = _record_without_block(sealed_world, monkeypatch)
    get_db(app).records.update_one({"_id": orphan["_id"]}, {"$set": {"box.tag": b"\x01" * 16}})
    result = runner.invoke(args=["ledger", "reconcile", "--grace", "0"])
    assert result.exit_code == 1 and "fails the integrity check" in result.output
    assert get_db(app).records.find_one({"_id": orphan["_id"]})["sealed_height"] is None
    assert records.get_version(get_db(app), orphan["record_id"], 1) is not None


def test_recount_rebuilds_the_chart_after_a_bulk_load(app, runner, made):
    db = get_db(app)
    expected = {}
    for block in db.ledger_blocks.find({}, {"kind": 1, "timestamp": 1}):
        key = (block["timestamp"][:10], block["kind"])
        expected[key] = expected.get(key, 0) + 1
    db.ledger_daily.delete_many({})
    result = runner.invoke(args=["ledger", "recount"])
    assert result.exit_code == 0 and f"Counted {sum(expected.values())} blocks" in result.output
    assert {(d["day"], d["kind"]): d["n"] for d in db.ledger_daily.find()} == expected


def test_adopt_gives_an_old_database_its_codes_once(app, runner, made):
    """A database written before authority codes: documents without `auth`, blocks without
    `mac`. `flask ledger adopt` vouches for them; a document whose code fails stays failing."""
    db = get_db(app)
    db.grants.update_many({}, {"$unset": {"auth": ""}})
    db.ledger_blocks.update_many({}, {"$unset": {"mac": ""}})
    forged = db.access_requests.find_one({"_id": made["request"]["_id"]})
    db.access_requests.update_one({"_id": forged["_id"]}, {"$set": {"purpose": "forged"}})
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 1
    result = runner.invoke(args=["ledger", "adopt", "--yes"])
    assert result.exit_code == 0, result.output
    assert "access_requests: 0 adopted, 1 FAIL their code" in result.output
    assert f"grants: {db.grants.count_documents({})} adopted" in result.output
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 1
    # only the forged request remains: its sealed block and its own code both name it
    assert [line.split(" ", 1)[0] for line in verify.output.splitlines()[:-1]] == \
        ["attribute-mismatch", "unauthenticated-document"]
    assert "attribute=purpose" in verify.output

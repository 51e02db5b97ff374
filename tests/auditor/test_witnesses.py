"""Witnesses wired to the app: each checkpoint is pushed to them, their cosignatures are kept
and shown, receipts carry them, and a host that rewrote its history is refused and alarmed.

The witness runs in this process on 127.0.0.1 (its own key, its own state file, no database);
one test runs it as `python -m ledger witness`, the way it is deployed on another machine.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from ledger.notes import SigningKey
from ledger.witness import CosignerKey, Witness, count_cosignatures, make_server

from app import create_app
from models.sealing import checkpoint_log, checkpoints, trust, witnesses
from models.storage import authority
from models.storage.db import get_db
from tests.auditor_support import login, populate
from tests.conftest import make_config
from tests.tamper_drill.test_tamper_drills import rewrite_chain_from

ROOT = __file__.rsplit("/tests/", 1)[0]
pytestmark = pytest.mark.integration  # the app on the embedded server, witnesses over HTTP


class RunningWitness:
    """A witness for the app's log, served from a thread until stopped."""

    def __init__(self, app, state_path, key=None):
        self.key = key or SigningKey.generate("witness.test/w1")
        self.public = CosignerKey(self.key.name, self.key.public().public_key)
        log_key = trust.signing_key(app).public()
        self.witness = Witness(self.key, state_path, {log_key.name: [log_key]})
        self.server = make_server(self.witness, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def entry(self):
        return f"{self.url} {self.public}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def witness(app, tmp_path):
    running = RunningWitness(app, tmp_path / "witness-state.json")
    app.config["LEDGER_WITNESSES"] = running.entry()
    yield running
    running.stop()


def drained(app):
    runner = app.extensions["medledger"].get("witness_runner")
    assert runner is not None, "no checkpoint was handed to the witnesses"
    assert runner.drain(timeout=30)
    return runner


def checkpoint_now(app):
    with app.app_context():
        doc = checkpoints.create(get_db())
    drained(app)
    return doc


def state_of(witness):
    with open(witness.witness.state_path, encoding="utf-8") as handle:
        return json.load(handle)


def key_files(app, witness, tmp_path):
    """The log's public key, this witness's cosigner key and another witness's, as files."""
    paths = {name: str(tmp_path / name) for name in ("ledger.pub", "w.pub", "other.pub")}
    trust.signing_key(app).public().save(paths["ledger.pub"])
    (tmp_path / "w.pub").write_text(f"{witness.public}\n")
    other = SigningKey.generate("witness.test/w2")
    (tmp_path / "other.pub").write_text(f"{CosignerKey(other.name, other.public().public_key)}\n")
    return paths


def verify_offline(raw_receipt, files, tmp_path, *witness_files, require=None):
    """`python -m ledger verify-receipt`, as a patient runs it on their own machine."""
    path = tmp_path / "receipt.json"
    path.write_bytes(raw_receipt)
    command = [sys.executable, "-m", "ledger", "verify-receipt", str(path),
               "--pubkey", files["ledger.pub"]]
    for name in witness_files:
        command += ["--witness", files[name]]
    if require is not None:
        command += ["--require", str(require)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def take_receipt(client, record):
    response = client.post(f"/patient/records/{record['record_id']}/v{record['version']}/receipt",
                           data={"disclose": []})
    assert response.status_code == 200, response.data[:500]
    return response


def test_each_checkpoint_is_cosigned_and_kept(app, sealed_world, witness):
    first = checkpoint_now(app)
    db = get_db(app)
    origin = trust.origin(app)
    assert state_of(witness)[origin]["size"] == first["size"]
    kept = db[witnesses.COSIGNATURES].find_one({"size": first["size"]})
    assert kept["note"] == first["note"]
    assert witness.public.verify(first["note"][:first["note"].rfind("\n\n") + 1],
                                 kept["line"]) is not None
    populate(sealed_world)
    second = checkpoint_now(app)  # grown: cosigned through a consistency proof
    assert second["size"] > first["size"]
    assert state_of(witness)[origin]["size"] == second["size"]
    assert db[witnesses.STATE].find_one({"_id": witness.public.name})["size"] == second["size"]


def test_the_witness_size_wins_over_what_the_app_remembers(app, sealed_world, witness):
    """The app's record of the witness lost (or another process pushed meanwhile): the
    witness answers with the size it holds and the push is proved from there."""
    first = checkpoint_now(app)
    db = get_db(app)
    db[witnesses.STATE].delete_many({})
    populate(sealed_world)
    second = checkpoint_now(app)
    assert state_of(witness)[trust.origin(app)]["size"] == second["size"] > first["size"]
    # An older checkpoint arriving late (a slower process) is neither cosigned nor an alarm.
    witnesses.push(app, first["note"], first["size"])
    assert state_of(witness)[trust.origin(app)]["size"] == second["size"]
    assert db[checkpoints.ALARMS].count_documents({}) == 0


def test_the_overview_shows_each_witness_and_how_far_behind_it_is(app, client, sealed_world,
                                                                  witness):
    cosigned = checkpoint_now(app)["size"]
    populate(sealed_world)  # blocks the witness has not seen yet (no checkpoint since)
    login(client, sealed_world.auditor)
    page = client.get("/auditor/").get_data(as_text=True)
    size = get_db(app).ledger_blocks.count_documents({})
    assert f'data-testid="witness" data-witness="{witness.public.name}" data-size="{cosigned}"' \
        in page
    assert f"<td>{size - cosigned} blocks</td>" in page
    assert 'data-testid="witness-alarms"' not in page


def test_a_receipt_carries_the_witness_cosignature_and_verifies_offline(app, client,
                                                                        sealed_world, witness,
                                                                        tmp_path):
    made = populate(sealed_world)
    checkpoint_now(app)
    login(client, sealed_world.patient)
    response = take_receipt(client, made["records"]["allergy"])
    receipt = response.get_json()
    assert count_cosignatures(receipt["checkpoint"], [witness.public]) == [witness.public]
    files = key_files(app, witness, tmp_path)

    def offline(*witness_files, require=None):
        return verify_offline(response.get_data(), files, tmp_path, *witness_files,
                              require=require)

    good = offline("w.pub")
    assert good.returncode == 0 and "cosigned by witness.test/w1" in good.stdout, good.stdout
    assert offline("other.pub").returncode == 1  # a witness that did not cosign it
    two = offline("w.pub", "other.pub", require=2)
    assert two.returncode == 1 and "1 cosignature(s)" in two.stdout, two.stdout


def test_a_receipt_for_a_block_no_witness_has_seen_falls_back_to_the_signed_checkpoint(
        app, client, sealed_world, witness):
    checkpoint_now(app)
    made = populate(sealed_world)  # newer than anything cosigned
    login(client, sealed_world.patient)
    record = made["records"]["allergy"]
    response = take_receipt(client, record)
    assert count_cosignatures(response.get_json()["checkpoint"], [witness.public]) == []
    drained(app)  # the checkpoint made for this receipt was pushed too, and cosigned
    height = get_db(app).records.find_one({"_id": record["_id"]})["sealed_height"]
    with app.app_context():
        assert witnesses.cosigned_note(get_db(), height) is not None


def test_a_host_that_rewrote_its_history_gets_no_cosignature_and_raises_an_alarm(
        app, client, sealed_world, witness, tmp_path):
    """The whole host compromised: the chain rewritten with recomputed hashes, every block
    given the app's authentication code (the attacker holds the authority key), the
    checkpoints in the database and on the host deleted, and a new checkpoint signed with the
    app's own key. Only the witness still knows what it cosigned."""
    made = populate(sealed_world)
    before = checkpoint_now(app)
    db = get_db(app)
    rewrite_chain_from(db, sealed_world.key, made["records"]["general"], "88.8")
    for block in db.ledger_blocks.find({}):
        db.ledger_blocks.update_one({"_id": block["_id"]}, {"$set": {
            "mac": authority.block_mac(block["hash"], app)}})
    os.remove(checkpoint_log.path(app))
    assert all(authority.block_authentic(block, app) for block in db.ledger_blocks.find({}))
    carried_on = sealed_world.write(sealed_world.doctor, "general")  # the host carries on
    after = checkpoint_now(app)
    assert after["size"] > before["size"]
    assert state_of(witness)[trust.origin(app)]["size"] == before["size"]  # refused
    alarm = db[checkpoints.ALARMS].find_one({"kind": "witness-refused"})
    assert alarm["witness"] == witness.public.name and alarm["height"] == after["size"]
    assert alarm["status"] == 422
    login(client, sealed_world.auditor)
    page = client.get("/auditor/").get_data(as_text=True)
    assert f'data-testid="witness-alarm" data-witness="{witness.public.name}" ' \
           f'data-size="{after["size"]}"' in page
    # Receipts keep to what the witness cosigned: the rewritten record gets none.
    patient = app.test_client()
    login(patient, sealed_world.patient)
    record = made["records"]["general"]
    refused = patient.post(f"/patient/records/{record['record_id']}/v{record['version']}/receipt",
                          data={"disclose": []})
    assert refused.status_code == 409
    # A record sealed after the rewrite gets a receipt signed with the app's key, valid for
    # whoever trusts that key alone, and refused by whoever requires the witness.
    files = key_files(app, witness, tmp_path)
    raw = take_receipt(patient, carried_on).get_data()
    assert verify_offline(raw, files, tmp_path).returncode == 0
    required = verify_offline(raw, files, tmp_path, "w.pub", require=1)
    assert required.returncode == 1 and "0 cosignature(s)" in required.stdout, required.stdout


def test_an_unreachable_witness_is_caught_up_by_the_next_checkpoint(app, sealed_world, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr(witnesses, "ATTEMPTS", 2)
    monkeypatch.setattr(witnesses.time, "sleep", lambda seconds: None)
    key = SigningKey.generate("witness.test/late")
    public = CosignerKey(key.name, key.public().public_key)
    app.config["LEDGER_WITNESSES"] = f"http://127.0.0.1:{_free_port()}/ {public}"  # nobody there
    first = checkpoint_now(app)
    assert get_db(app)[witnesses.STATE].find_one({"_id": key.name}) is None
    back = RunningWitness(app, tmp_path / "late.json", key=key)  # up again, elsewhere
    app.config["LEDGER_WITNESSES"] = back.entry()
    try:
        populate(sealed_world)
        second = checkpoint_now(app)
        assert second["size"] > first["size"]
        assert get_db(app)[witnesses.STATE].find_one({"_id": key.name})["size"] == second["size"]
        assert get_db(app)[checkpoints.ALARMS].count_documents({}) == 0
    finally:
        back.stop()


@pytest.mark.parametrize("entry", ["ftp://x/ witness+00000000+AAAA", "http://x/ not-a-key",
                                   "http://x/"])
def test_a_malformed_witness_setting_stops_the_app(tmp_path, entry):
    with pytest.raises(witnesses.ConfigProblem):
        create_app(make_config(tmp_path, LEDGER_WITNESSES=entry))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_witness_command_cosigns_for_the_app(app, sealed_world, tmp_path):
    """`python -m ledger witness-key` and `python -m ledger witness`, as on another machine."""
    key_path, log_pub = str(tmp_path / "w.key"), str(tmp_path / "log.pub")
    trust.signing_key(app).public().save(log_pub)
    made = subprocess.run([sys.executable, "-m", "ledger", "witness-key", "witness.test/cli",
                           "--out", key_path], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    with open(key_path + ".pub", encoding="utf-8") as handle:
        public = CosignerKey.parse(handle.read())
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "ledger", "witness", "--key", key_path,
                               "--state", str(tmp_path / "state.json"), "--log", log_pub,
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert "add-checkpoint" in server.stdout.readline()
        app.config["LEDGER_WITNESSES"] = f"http://127.0.0.1:{port}/ {public}"
        doc = checkpoint_now(app)
        with app.app_context():
            note = witnesses.cosigned_note(get_db(), doc["size"] - 1)
        assert count_cosignatures(note, [public]) == [public]
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        server.stdout.close()


def test_the_export_carries_the_witnessed_checkpoint(app, runner, sealed_world, witness,
                                                     tmp_path):
    populate(sealed_world)
    cosigned = checkpoint_now(app)
    directory = tmp_path / "export"
    result = runner.invoke(args=["ledger", "export", str(directory)])
    assert result.exit_code == 0, result.output
    note = (directory / "witnessed.note").read_text(encoding="utf-8")
    assert note.startswith(cosigned["note"])
    assert count_cosignatures(note, [witness.public]) == [witness.public]
    assert f"--checkpoint {directory / 'witnessed.note'}" in result.output
    audited = subprocess.run([sys.executable, "-m", "ledger", "audit-export", str(directory),
                              "--pubkey", str(directory / "ledger.pub"), "--checkpoint",
                              str(directory / "witnessed.note")], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert audited.returncode == 0, audited.stdout + audited.stderr

"""The witness (C2SP tlog-witness) and its cosignatures (tlog-cosignature, Ed25519 v1)."""
import json
import threading

import pytest
from ledger.attributes import new_salt
from ledger.chain import Ledger
from ledger.notes import SigningKey, verify_checkpoint
from ledger.store import MemoryStore
from ledger.witness import (Cosigner, CosignerKey, Witness, cosigner_key_id, count_cosignatures,
                            request_body)

ORIGIN = "test.example/log"
SALT = new_salt()


@pytest.fixture
def log():
    key = SigningKey.generate(ORIGIN)
    ledger = Ledger(MemoryStore())
    return key, ledger


def grow(ledger, count, start=0):
    for n in range(start, start + count):
        ledger.append("test.event", {"n": n}, "act", {"n": n}, {"n": SALT})


@pytest.fixture
def witness(tmp_path, log):
    key, _ = log
    return Witness(SigningKey.generate("witness.example/w1"), tmp_path / "state.json",
                   {ORIGIN: [key.public()]})


def state_of(witness):
    with open(witness.state_path, encoding="utf-8") as handle:
        return json.load(handle)[ORIGIN]


def submit(witness, ledger, key, old):
    note = ledger.checkpoint(key, ORIGIN)
    size = verify_checkpoint(note, [key.public()])[0].size
    proof = ledger.consistency_proof(old, size) if old else []
    return witness.add_checkpoint(request_body(old, proof, note)), note


def test_a_first_checkpoint_is_cosigned_and_the_cosignature_verifies(witness, log):
    key, ledger = log
    grow(ledger, 5)
    (status, _, line), note = submit(witness, ledger, key, 0)
    assert status == 200 and line.startswith("\u2014 witness.example/w1 ")
    cosigned = note + line
    assert count_cosignatures(cosigned, [witness.cosigner.public]) == [witness.cosigner.public]
    assert verify_checkpoint(cosigned, [key.public()])[0].size == 5  # the log's key still reads it
    other = CosignerKey("witness.example/w2", SigningKey.generate("w2").public().public_key)
    assert count_cosignatures(cosigned, [other]) == []


def test_the_key_id_follows_the_spec():
    key = SigningKey.generate("witness.example/w1")
    public = CosignerKey(key.name, key.public().public_key)
    assert public.key_id == cosigner_key_id(key.name, key.public().public_key)
    assert public.key_id != key.public().key_id  # 0x04, not the note signature's 0x01
    assert CosignerKey.parse(str(public)) == public


def test_consistent_growth_is_cosigned_and_the_state_follows(witness, log, tmp_path):
    key, ledger = log
    grow(ledger, 5)
    assert submit(witness, ledger, key, 0)[0][0] == 200
    grow(ledger, 9, start=5)
    assert submit(witness, ledger, key, 5)[0][0] == 200
    state = json.loads((tmp_path / "state.json").read_text())
    assert state[ORIGIN]["size"] == 14
    assert state[ORIGIN]["root"] == ledger.log_root().hex()


def test_a_wrong_old_size_gets_409_with_the_size_it_knows(witness, log):
    key, ledger = log
    grow(ledger, 5)
    submit(witness, ledger, key, 0)
    grow(ledger, 3, start=5)
    status, content_type, body = submit(witness, ledger, key, 0)[0]
    assert (status, content_type, body) == (409, "text/x.tlog.size", "5\n")


def test_a_rewritten_history_is_refused_even_signed_with_the_logs_own_key(witness, log):
    """The host is compromised: its key signs a chain whose first blocks were changed. The
    witness, which cosigned the original, refuses it."""
    key, ledger = log
    grow(ledger, 6)
    submit(witness, ledger, key, 0)
    forked = Ledger(MemoryStore())
    grow(forked, 1, start=100)  # a different first block
    grow(forked, 9, start=1)
    status = submit(witness, forked, key, 6)[0][0]
    assert status == 422
    assert state_of(witness)["size"] == 6


def test_the_same_size_with_another_root_is_409(witness, log):
    key, ledger = log
    grow(ledger, 4)
    submit(witness, ledger, key, 0)
    forked = Ledger(MemoryStore())
    grow(forked, 4, start=50)
    assert submit(witness, forked, key, 4)[0][:2] == (409, "text/x.tlog.size")


@pytest.mark.parametrize("body, status", [
    (b"nonsense", 400), (b"old 01\n\nx\n", 400), (b"old 1\nnot base64!\n\nx\n", 400),
])
def test_malformed_requests_are_400(witness, body, status):
    assert witness.add_checkpoint(body)[0] == status


def test_unknown_origins_and_foreign_signatures(tmp_path, log):
    key, ledger = log
    grow(ledger, 2)
    stranger = Witness(SigningKey.generate("w3"), tmp_path / "s.json",
                       {"other/log": [key.public()]})
    assert submit(stranger, ledger, key, 0)[0][0] == 404
    fooled = Witness(SigningKey.generate("w4"), tmp_path / "t.json",
                     {ORIGIN: [SigningKey.generate(ORIGIN).public()]})
    assert submit(fooled, ledger, key, 0)[0][0] == 403


def test_two_racing_submissions_never_roll_the_state_back(witness, log):
    """The spec's race: the check and the update are one step."""
    key, ledger = log
    grow(ledger, 4)
    submit(witness, ledger, key, 0)
    grow(ledger, 4, start=4)
    small_note = ledger.checkpoint(key, ORIGIN)
    grow(ledger, 4, start=8)
    big_note = ledger.checkpoint(key, ORIGIN)
    requests = [request_body(4, ledger.consistency_proof(4, 8), small_note),
                request_body(4, ledger.consistency_proof(4, 12), big_note)]
    results = []
    threads = [threading.Thread(target=lambda body=body: results.append(
        witness.add_checkpoint(body)[0])) for body in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    assert state_of(witness)["size"] in (8, 12)


def test_a_cosignature_on_another_body_does_not_verify(log):
    key, ledger = log
    grow(ledger, 3)
    cosigner = Cosigner(SigningKey.generate("witness.example/w1"))
    note = ledger.checkpoint(key, ORIGIN)
    body = note[:note.rfind("\n\n") + 1]
    line = cosigner.cosign(body)
    assert cosigner.public.verify(body, line.rstrip("\n")) is not None
    assert cosigner.public.verify(body.replace(ORIGIN, "x/y"), line.rstrip("\n")) is None

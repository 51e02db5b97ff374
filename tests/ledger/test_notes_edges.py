"""Signed-note edges the mutation run found unguarded: each refusal by its exact reason.

The CLI and the verification page show these reasons to people checking a key or a
checkpoint by hand, so a reason that silently changes is a regression.
"""
import base64
import dataclasses
import hashlib
import json

import pytest

from ledger.notes import (Checkpoint, NoteError, SigningKey, TrustEntry, TrustFile, VerifierKey,
                          open_note, read_note, sign_note)

SEED = bytes(range(32))
ROOT = hashlib.sha256(b"tree").digest()


@pytest.fixture(scope="module")
def key():
    return SigningKey.from_seed("medledger.example", SEED)


def refusal(call, *args):
    with pytest.raises(NoteError) as caught:
        call(*args)
    return str(caught.value)


def test_verifier_key_refusals(key):
    vkey = str(key.public())
    name, key_id, key64 = vkey.split("+", 2)
    raw = base64.b64decode(key64)
    other_id = "%08x" % (int(key_id, 16) ^ 1)
    assert refusal(VerifierKey.parse, f"{name}+{key_id[:7]}+{key64}") == "malformed verifier key"
    assert refusal(VerifierKey.parse, 42) == "malformed verifier key"
    assert refusal(VerifierKey.parse, f"{name}+{key_id}+{key64[:-1]}!") == "bad base64"
    assert refusal(VerifierKey.parse, f"{name}+{key_id}+{key64}=") == "bad base64"
    wrong_type = base64.b64encode(b"\x02" + raw[1:]).decode()
    assert refusal(VerifierKey.parse, f"{name}+{key_id}+{wrong_type}") == \
        "verifier key is not an Ed25519 key"
    short = base64.b64encode(raw[:-1]).decode()
    assert refusal(VerifierKey.parse, f"{name}+{key_id}+{short}") == \
        "verifier key is not an Ed25519 key"
    assert refusal(VerifierKey.parse, f"{name}+{other_id}+{key64}") == \
        "verifier key id does not match the key"
    assert refusal(VerifierKey, "n", b"\x00" * 31) == "not an Ed25519 public key"
    assert refusal(VerifierKey, "a+b", raw[1:]) == "invalid key name 'a+b'"
    assert repr(key.public()) == f"VerifierKey('{vkey}')"


def test_signing_key_refusals(key, tmp_path):
    path = tmp_path / "k"
    key.save(path)
    text = path.read_text().strip()
    private, word, name, key_id, seed64 = text.split("+", 4)
    prefix = f"{private}+{word}"
    raw = base64.b64decode(seed64)
    assert refusal(SigningKey.parse, text.replace("PRIVATE", "PUBLIC")) == "malformed signing key"
    assert refusal(SigningKey.parse, None) == "malformed signing key"
    assert refusal(SigningKey.parse, f"{prefix}+{name}+{key_id[:7]}+{seed64}") == \
        "malformed signing key"
    wrong = base64.b64encode(b"\x02" + raw[1:]).decode()
    assert refusal(SigningKey.parse, f"{prefix}+{name}+{key_id}+{wrong}") == \
        "signing key is not an Ed25519 key"
    other_id = "%08x" % (int(key_id, 16) ^ 1)
    assert refusal(SigningKey.parse, f"{prefix}+{name}+{other_id}+{seed64}") == \
        "signing key id does not match the key"
    assert refusal(SigningKey, "n", SEED[:31]) == "an Ed25519 seed is 32 bytes"
    assert refusal(SigningKey, "n", "x" * 32) == "an Ed25519 seed is 32 bytes"
    assert refusal(SigningKey, "a b", SEED) == "invalid key name 'a b'"
    assert SigningKey.parse(text).public() == key.public()
    assert repr(key) == f"SigningKey(name='medledger.example', key_id='{key_id}')"


def test_signing_refusals(key):
    assert refusal(sign_note, "no newline", [key]) == \
        "malformed note: the text must end with a newline"
    assert refusal(sign_note, "ok\n", []) == "a note needs at least one signing key"
    assert refusal(sign_note, "tab\there\n", [key]) == "malformed note"


def test_a_signature_line_must_start_with_the_em_dash(key):
    note = sign_note("body\n", [key])
    assert open_note(note, [key.public()])[0] == "body\n"
    assert refusal(open_note, note.replace("\u2014 ", "- "), [key.public()]) == "malformed note"
    assert refusal(open_note, note.replace("\u2014 ", "\u2014"), [key.public()]) == \
        "malformed note"


@pytest.mark.parametrize("fields, message", [
    (("", 1, ROOT), "a checkpoint origin is one non-empty line"),
    (("a\nb", 1, ROOT), "a checkpoint origin is one non-empty line"),
    (("log", -1, ROOT), "a checkpoint size is a non-negative integer"),
    (("log", True, ROOT), "a checkpoint size is a non-negative integer"),
    (("log", 1, ROOT[:31]), "a checkpoint root is 32 bytes"),
    (("log", 1, ROOT, -1), "a checkpoint timestamp is a non-negative integer of milliseconds"),
])
def test_checkpoint_refusals(fields, message):
    assert refusal(Checkpoint, *fields) == message


def test_checkpoint_edges_are_accepted():
    assert Checkpoint("log", 0, ROOT, 0).body() == (
        f"log\n0\n{base64.b64encode(ROOT).decode()}\ntimestamp 0\n")
    body = f"log\n7\n{base64.b64encode(ROOT).decode()}\nother ext\n"
    assert Checkpoint.parse_body(body) == Checkpoint("log", 7, ROOT)


@pytest.mark.parametrize("body", [
    "log\n07\n{root}\n", "log\n7\n{root}=\n", "log\n7\n{root}\ntimestamp 1\ntimestamp 2\n",
    "log\n7\n{root}\ntimestamp x\n", "log\n7\n{root}", "log\n7\n", "log\n\n{root}\n",
])
def test_malformed_checkpoint_bodies(body):
    text = body.format(root=base64.b64encode(ROOT).decode())
    assert refusal(Checkpoint.parse_body, text) == "malformed checkpoint"


def test_trust_file_refusals(key, tmp_path):
    trust = TrustFile()
    assert refusal(trust.add, key.public(), -1) == "from_size must be a non-negative integer"
    trust.add(key.public(), 10)
    assert refusal(trust.add, key.public(), 9) == "from_size 9 is before the current key's range"
    trust.add(key.public(), 10)  # a hand-over at the same size is allowed
    assert [(e.from_size, e.to_size) for e in trust.entries] == [(10, 10), (10, None)]
    path = tmp_path / "trust.json"
    for data, message in [({"keys": {}}, 'trust file needs a "keys" list'),
                          ([], 'trust file needs a "keys" list'),
                          ({"keys": ["x"]}, "trust file entries are objects")]:
        path.write_text(json.dumps(data))
        assert refusal(TrustFile.load, path) == message
    path.write_text("{")
    assert refusal(TrustFile.load, path).startswith("trust file: not-json: ")


def _signature_line(name, raw):
    return f"\u2014 {name} {base64.b64encode(raw).decode()}\n"


def test_a_note_with_exactly_the_maximum_of_signature_lines_opens(key):
    """100 signature lines are allowed (unknown keys are ignored); 101 are refused."""
    signed = sign_note("medledger.example/log\n1\n" + base64.b64encode(ROOT).decode() + "\n",
                       [key])
    body, own = signed.split("\n\n")
    others = "".join(_signature_line(f"other{i}", bytes(4) + bytes(64)) for i in range(99))
    assert open_note(f"{body}\n\n{others}{own}", [key.public()])[1] == [key.public()]
    one_more = _signature_line("other99", bytes(4) + bytes(64))
    assert refusal(open_note, f"{body}\n\n{one_more}{others}{own}", [key.public()]) == \
        "malformed note"


def test_a_signature_of_a_key_id_and_one_byte_parses_and_then_fails(key):
    """Five bytes (a 4-byte key id and a 1-byte signature) is the shortest signature read; a
    name that is not a key name is refused whatever follows."""
    body = "medledger.example/log\n1\n" + base64.b64encode(ROOT).decode() + "\n"
    short = body + "\n" + _signature_line(key.name, key.key_id + b"\x01")
    assert read_note(short)[1] == [(key.name, key.key_id, b"\x01")]
    assert refusal(open_note, short, [key.public()]) == f"bad signature by key {key.name}"
    assert refusal(read_note, body + "\n" + _signature_line(key.name, key.key_id)) == \
        "malformed note"
    assert refusal(read_note, body + "\n" + _signature_line("bad+name", key.key_id + bytes(64))) \
        == "malformed note"


def test_a_note_whose_text_is_one_empty_line_is_read():
    """The split is at the last blank line: a text of a single newline is still a text."""
    note = "\n\n" + _signature_line("k", bytes(5))
    assert read_note(note) == ("\n", [("k", bytes(4), b"\x00")])


def test_two_different_keys_under_one_name_and_id_are_refused_by_name(key):
    twin = SigningKey.from_seed("medledger.example", bytes(range(1, 33))).public()
    twin.key_id = key.key_id  # a 4-byte id collision, made by hand
    note = sign_note("medledger.example/log\n1\n" + base64.b64encode(ROOT).decode() + "\n",
                     [key])
    assert refusal(open_note, note, [key.public(), twin]) == \
        f"ambiguous key {key.name}+{key.key_id.hex()}"


def test_a_checkpoint_once_read_cannot_be_changed():
    checkpoint = Checkpoint("medledger.example/log", 3, ROOT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        checkpoint.size = 4
    assert {checkpoint} == {Checkpoint("medledger.example/log", 3, ROOT)}


def test_a_trust_file_is_written_as_documented_and_read_strictly(key, tmp_path):
    path = tmp_path / "trust.json"
    trust = TrustFile([TrustEntry(key.public(), 5, 5), TrustEntry(key.public(), 5)])
    trust.save(path)
    assert path.read_text() == json.dumps(
        {"keys": [{"vkey": str(key.public()), "from_size": 5, "to_size": 5},
                  {"vkey": str(key.public()), "from_size": 5, "to_size": None}]}, indent=2) + "\n"
    assert [(e.from_size, e.to_size) for e in TrustFile.load(path).entries] == \
        [(5, 5), (5, None)]  # a range of one size is a range
    entry = {"vkey": str(key.public()), "from_size": 7, "to_size": 5}
    for data, message in [
            ({"keys": [entry]}, "trust file entry has a bad size range: 7..5"),
            ({"keys": [], "comment": "x"}, "trust file: unknown-field: "),
            ({"keys": [dict(entry, note="x")]}, "trust file: unknown-field: keys[0]")]:
        path.write_text(json.dumps(data))
        assert refusal(TrustFile.load, path).startswith(message), data
    with pytest.raises(dataclasses.FrozenInstanceError):
        trust.entries[0].to_size = 9

"""ledger.notes: C2SP signed notes and checkpoints, Ed25519 keys, trust files.

Known answers come from RFC 8032 §7.1 (test 1) and from golang.org/x/mod/sumdb/note's tests,
the reference implementation of the note format.
"""
import base64
import hashlib
import json
import os
import re
import stat

import pytest

from ledger.notes import (Checkpoint, NoteError, SigningKey, TrustEntry, TrustFile, VerifierKey,
                          open_note, read_note, sign_checkpoint, sign_note,
                          verify_checkpoint)

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
    "b46bd25bf5f0595bbe24655141438e7a100b")

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
          "qdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIG = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01"
             "oOTGwnWLox33WWd1RvMc+QQ=\n")

NAME = "medledger.example/log"
ROOT = hashlib.sha256(b"some tree").digest()


@pytest.fixture(scope="module")
def key():
    return SigningKey.from_seed(NAME, bytes(range(32)))


def test_rfc8032_test_vector_1():
    key = SigningKey.from_seed("rfc8032", RFC8032_SEED)
    assert key.public().public_key == RFC8032_PUBLIC
    assert key.sign(b"") == RFC8032_SIGNATURE
    assert key.public().verify(b"", RFC8032_SIGNATURE)
    assert not key.public().verify(b"x", RFC8032_SIGNATURE)
    assert not key.public().verify(b"", RFC8032_SIGNATURE[:-1] + b"\x00")
    assert not key.public().verify(b"", b"short")


def test_key_id_follows_the_c2sp_definition():
    key = SigningKey.from_seed("rfc8032", RFC8032_SEED)
    expected = hashlib.sha256(b"rfc8032" + b"\n" + b"\x01" + RFC8032_PUBLIC).digest()[:4]
    assert key.key_id == key.public().key_id == expected
    encoded = base64.b64encode(b"\x01" + RFC8032_PUBLIC).decode()
    assert str(key.public()) == f"rfc8032+{expected.hex()}+{encoded}"
    assert key.public().fingerprint == hashlib.sha256(RFC8032_PUBLIC).hexdigest()


def test_go_reference_keys_and_signature():
    signer = SigningKey.parse(GO_SKEY)
    assert signer.name == "PeterNeumann" and signer.key_id.hex() == "c74f20a3"
    assert str(signer.public()) == GO_VKEY
    assert VerifierKey.parse(GO_VKEY) == signer.public()
    assert sign_note(GO_TEXT, [signer]) == GO_TEXT + "\n" + GO_SIG


def test_open_note_with_known_and_unknown_keys():
    peter, enoch = VerifierKey.parse(GO_VKEY), VerifierKey.parse(ENOCH_VKEY)
    note = GO_TEXT + "\n" + GO_SIG + ENOCH_SIG
    assert open_note(note, [peter]) == (GO_TEXT, [peter])  # Enoch's signature is ignored
    assert open_note(note, [peter, enoch]) == (GO_TEXT, [peter, enoch])
    assert open_note(note, [enoch, peter, enoch]) == (GO_TEXT, [peter, enoch])
    with pytest.raises(NoteError, match="^no signature by a known key$"):
        open_note(note, [])
    assert open_note(GO_TEXT + "\n" + GO_SIG * 3, [peter]) == (GO_TEXT, [peter])


def test_signature_from_a_key_sharing_only_the_name_is_ignored(key):
    impostor = SigningKey.from_seed(NAME, bytes(32))
    note = sign_note("hello\n", [impostor, key])
    assert open_note(note, [key.public()]) == ("hello\n", [key.public()])
    with pytest.raises(NoteError, match="^no signature by a known key$"):
        open_note(sign_note("hello\n", [impostor]), [key.public()])


@pytest.mark.parametrize("note", [
    GO_TEXT,
    GO_TEXT + "\n",
    GO_TEXT + "\n" + GO_SIG[:-1],
    "\x01" + GO_TEXT + "\n" + GO_SIG,
    GO_TEXT + "\n" + GO_SIG.replace("PeterNeumann", "Bad Name"),
    GO_TEXT + "\n" + GO_SIG + "Unexpected line.\n",
    GO_TEXT + "\n" + GO_SIG * 101,
    GO_TEXT + "\n" + GO_SIG.replace("AM=", "AN="),  # non-canonical base64
    "\ud800" + GO_TEXT + "\n" + GO_SIG,
    None,
])
def test_malformed_notes(note):
    with pytest.raises(NoteError, match="^malformed note$"):
        open_note(note, [VerifierKey.parse(GO_VKEY)])
    with pytest.raises(NoteError, match="^malformed note$"):
        read_note(note)


def test_read_note_splits_without_verifying():
    """A well-formed note with a broken signature reads (only opening it fails)."""
    broken = GO_SIG[:60] + "ABCD" + GO_SIG[64:]
    body, signatures = read_note(GO_TEXT + "\n" + broken)
    assert body == GO_TEXT
    assert [(name, len(key_id)) for name, key_id, _ in signatures] == [("PeterNeumann", 4)]


def test_invalid_signature_by_known_key():
    broken = GO_SIG[:60] + "ABCD" + GO_SIG[64:]
    with pytest.raises(NoteError, match="^bad signature by key PeterNeumann$"):
        open_note(GO_TEXT + "\n" + broken, [VerifierKey.parse(GO_VKEY)])


def _replacement(ch):
    if ch == "\n":
        return "x"
    return "B" if ch == "A" else "A"


def _expected_reasons(note, body, i):
    """Why replacing note[i] must fail, by region of the note."""
    bad_sig, unknown, malformed = f"bad signature by key {NAME}", \
        "no signature by a known key", "malformed note"
    sig_start = len(body) + 1
    b64_start = sig_start + 2 + len(NAME) + 1
    if i < len(body):
        return {bad_sig} if note[i] != "\n" else {bad_sig, malformed}
    if sig_start + 2 <= i < b64_start - 1:
        return {unknown}  # another key name
    j = i - b64_start
    if 0 <= j < 5:
        return {unknown}  # the first 30 bits are all key id
    if j == 5:
        return {unknown, bad_sig}  # bits 30..35 straddle key id and signature
    if 6 <= j < 90:
        return {bad_sig}
    if j == 90:
        return {bad_sig, malformed}  # last data character: its low bits must stay zero
    if j == 91:
        return {bad_sig}  # "=" -> "A" makes a valid 69-byte blob: a 65-byte signature
    return {malformed}  # separator, em dash, spaces, final newline


def test_tampering_any_character_fails_with_the_right_reason(key):
    body = Checkpoint(NAME, 1234, ROOT, 1_763_778_434_302).body()
    note = sign_checkpoint(Checkpoint.parse_body(body), key)
    assert len(note) == len(body) + 1 + 2 + len(NAME) + 1 + 92 + 1
    for i, ch in enumerate(note):
        tampered = note[:i] + _replacement(ch) + note[i + 1:]
        with pytest.raises(NoteError) as caught:
            open_note(tampered, [key.public()])
        assert str(caught.value) in _expected_reasons(note, body, i), (i, ch)


def test_flipping_any_bit_of_the_note_never_verifies(key):
    raw = bytearray(sign_note(f"{NAME}\n5\n{base64.b64encode(ROOT).decode()}\n", [key]),
                    "utf-8")
    for i in range(len(raw)):
        for bit in range(8):
            raw[i] ^= 1 << bit
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                with pytest.raises(NoteError):
                    open_note(text, [key.public()])
            raw[i] ^= 1 << bit


def test_sign_note_rejects_bad_input(key):
    for body in ["no newline", "tab\there\n", None]:
        with pytest.raises(NoteError):
            sign_note(body, [key])
    with pytest.raises(NoteError):
        sign_note("ok\n", [])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\t", "new\nline", "nbsp\u00a0", "\ud800"])
def test_invalid_key_names(name):
    with pytest.raises(NoteError, match="invalid key name"):
        SigningKey.from_seed(name, bytes(32))


def test_verifier_key_manglings_are_rejected():
    """As golang.org/x/mod/sumdb/note TestNewVerifier: every substring and every +1 byte."""
    for i in range(len(GO_VKEY) + 1):
        for j in range(i + 1, len(GO_VKEY) + 1):
            if (i, j) != (0, len(GO_VKEY)):
                with pytest.raises(NoteError):
                    VerifierKey.parse(GO_VKEY[i:j])
    for i, ch in enumerate(GO_VKEY):
        with pytest.raises(NoteError):
            VerifierKey.parse(GO_VKEY[:i] + chr(ord(ch) + 1) + GO_VKEY[i + 1:])
    with pytest.raises(NoteError):  # unknown algorithm, with adjusted key hash
        VerifierKey.parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_signing_key_manglings_are_rejected():
    for i, ch in enumerate(GO_SKEY):
        with pytest.raises(NoteError):
            SigningKey.parse(GO_SKEY[:i] + chr(ord(ch) + 1) + GO_SKEY[i + 1:])
    for cut in range(len(GO_SKEY)):
        with pytest.raises(NoteError):
            SigningKey.parse(GO_SKEY[:cut])


def test_key_file_is_0600_and_not_overwritten(tmp_path, key):
    path = tmp_path / "ledger.key"
    key.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    prefix = re.escape(f"PRIVATE+KEY+{NAME}+{key.key_id.hex()}+")
    assert re.fullmatch(prefix + r"[A-Za-z0-9+/]{44}\n", text)  # base64(0x01 || 32-byte seed)
    loaded = SigningKey.load(path)
    assert loaded.public() == key.public() and loaded.sign(b"m") == key.sign(b"m")
    other = SigningKey.generate(NAME)
    with pytest.raises(FileExistsError):
        other.save(path)
    assert SigningKey.load(path).public() == key.public()
    os.chmod(path, 0o644)
    other.save(path, overwrite=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert SigningKey.load(path).public() == other.public()


def test_secrets_stay_out_of_repr(key):
    assert "PRIVATE" not in repr(key) and key.key_id.hex() in repr(key)


def test_public_key_file_round_trip(tmp_path, key):
    path = tmp_path / "ledger.pub"
    key.public().save(path)
    assert path.read_text() == f"{key.public()}\n"
    assert VerifierKey.load(path) == key.public()


def test_generated_keys_differ_and_work():
    a, b = SigningKey.generate(NAME), SigningKey.generate(NAME)
    assert a.public() != b.public()
    assert open_note(sign_note("x\n", [a, b]), [b.public()]) == ("x\n", [b.public()])


def test_checkpoint_body_format():
    root64 = base64.b64encode(ROOT).decode()
    assert Checkpoint(NAME, 0, ROOT).body() == f"{NAME}\n0\n{root64}\n"
    assert Checkpoint(NAME, 42, ROOT, 1_763_778_434_302).body() == \
        f"{NAME}\n42\n{root64}\ntimestamp 1763778434302\n"


@pytest.mark.parametrize("cp", [Checkpoint(NAME, 0, ROOT), Checkpoint(NAME, 10**12, ROOT, 0),
                                Checkpoint("origin with spaces", 7, ROOT, 123)])
def test_checkpoint_round_trip(cp, key):
    assert Checkpoint.parse_body(cp.body()) == cp
    assert verify_checkpoint(sign_checkpoint(cp, key), [key.public()]) == (cp, key.public())


def test_unknown_extension_lines_are_ignored():
    body = Checkpoint(NAME, 3, ROOT, 99).body() + "other extension\n"
    assert Checkpoint.parse_body(body) == Checkpoint(NAME, 3, ROOT, 99)


@pytest.mark.parametrize("body", [
    f"{NAME}\n3\n", f"{NAME}\n03\n{{root}}\n", f"{NAME}\n-3\n{{root}}\n", f"\n3\n{{root}}\n",
    f"{NAME}\n3\n{{root}}", f"{NAME}\n3\n{{root}}\n\n", f"{NAME}\n3\nnot base64\n",
    f"{NAME}\n3\n{base64.b64encode(ROOT[:31]).decode()}\n",
    f"{NAME}\n3\n{{root}}\ntimestamp 1\ntimestamp 2\n", f"{NAME}\n3\n{{root}}\ntimestamp x\n",
])
def test_malformed_checkpoint_bodies(body):
    with pytest.raises(NoteError):
        Checkpoint.parse_body(body.replace("{root}", base64.b64encode(ROOT).decode()))


@pytest.mark.parametrize("fields", [("", 1, ROOT), ("a\nb", 1, ROOT), (NAME, -1, ROOT),
                                    (NAME, True, ROOT), (NAME, 1, ROOT[:31]), (NAME, 1, ROOT, -5)])
def test_invalid_checkpoints(fields):
    with pytest.raises(NoteError):
        Checkpoint(*fields)


def test_verify_checkpoint_with_the_wrong_key(key):
    note = sign_checkpoint(Checkpoint(NAME, 3, ROOT), key)
    with pytest.raises(NoteError, match="^no signature by a known key$"):
        verify_checkpoint(note, [SigningKey.generate(NAME).public()])


def test_trust_file_rotation(tmp_path):
    old, new = SigningKey.generate(NAME).public(), SigningKey.generate(NAME).public()
    trust = TrustFile()
    trust.add(old, 0)
    trust.add(new, 1200)
    assert trust.entries == [TrustEntry(old, 0, 1200), TrustEntry(new, 1200, None)]
    assert trust.verifiers_for(0) == [old]
    assert trust.verifiers_for(1199) == [old]
    assert trust.verifiers_for(1200) == [old, new]  # the hand-over checkpoint
    assert trust.verifiers_for(1201) == [new]
    assert trust.verifiers_for(10**9) == [new]
    path = tmp_path / "trust.json"
    trust.save(path)
    assert json.loads(path.read_text()) == {"keys": [
        {"vkey": str(old), "from_size": 0, "to_size": 1200},
        {"vkey": str(new), "from_size": 1200, "to_size": None}]}
    assert TrustFile.load(path).entries == trust.entries


def test_trust_file_refuses_a_start_before_the_current_key():
    trust = TrustFile()
    trust.add(SigningKey.generate(NAME).public(), 100)
    with pytest.raises(NoteError):
        trust.add(SigningKey.generate(NAME).public(), 99)


@pytest.mark.parametrize("content", [
    "not json", "[]", '{"keys": {}}', '{"keys": [1]}',
    '{"keys": [{"vkey": "nope", "from_size": 0, "to_size": null}]}',
    f'{{"keys": [{{"vkey": "{GO_VKEY}", "from_size": -1, "to_size": null}}]}}',
    f'{{"keys": [{{"vkey": "{GO_VKEY}", "from_size": 5, "to_size": 4}}]}}',
    f'{{"keys": [{{"vkey": "{GO_VKEY}", "to_size": null}}]}}',
])
def test_malformed_trust_files(tmp_path, content):
    path = tmp_path / "trust.json"
    path.write_text(content)
    with pytest.raises(NoteError):
        TrustFile.load(path)

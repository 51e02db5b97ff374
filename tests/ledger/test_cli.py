"""`python -m ledger` run as an auditor would: a separate process, files only, no database."""
import json
import os
import random
import stat
import subprocess
import sys

import pytest

from ledger.audit import audit
from ledger.export import DirectoryStore, audit_export, export
from ledger.notes import SigningKey, TrustFile, VerifierKey
from ledger.receipt import make_receipt, make_receipt_v1
from ledger.store import MemoryStore

ORIGIN = "medledger.test/log"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "ledger", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "ledger.key"
    result = cli("keygen", "medledger-cli-test", "--out", path)
    assert result.returncode == 0, result.stderr
    return path


def test_keygen_writes_a_private_key_0600_and_a_public_key(keyfile):
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    key = SigningKey.load(keyfile)
    assert VerifierKey.load(str(keyfile) + ".pub") == key.public()
    again = cli("keygen", "other", "--out", keyfile)
    assert again.returncode != 0 and "refusing" in again.stderr
    assert SigningKey.load(keyfile).public() == key.public()


@pytest.mark.parametrize("maker", [make_receipt, make_receipt_v1], ids=["format2", "format1"])
def test_verify_receipt_valid_and_tampered(tmp_path, keyfile, make_chain, maker):
    chain = make_chain(MemoryStore(), 25, seed=8)
    note = chain.ledger.checkpoint(SigningKey.load(keyfile), ORIGIN)
    doc = chain.store.get_block(11)
    attributes, salts = chain.source(doc)
    name = sorted(attributes)[0]
    receipt = maker(chain.ledger, 11, note, {name: (attributes[name], salts[name])})
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt, indent=2))
    result = cli("verify-receipt", path, "--pubkey", str(keyfile) + ".pub")
    assert result.returncode == 0 and result.stdout.startswith("VALID"), result
    assert f"hash {doc['hash']})" in result.stdout  # the leaf hash, for FHIR's leafHash
    receipt["disclosed"][0]["salt"] = "AAAAAAAAAAAAAAAAAAAAAA=="
    path.write_text(json.dumps(receipt))
    result = cli("verify-receipt", path, "--pubkey", str(keyfile) + ".pub")
    assert result.returncode == 1
    assert result.stdout.startswith("INVALID") and name in result.stdout
    path.write_text("{not json")
    assert cli("verify-receipt", path, "--pubkey", str(keyfile) + ".pub").returncode == 1


@pytest.fixture
def exported(tmp_path, keyfile, make_chain):
    chain = make_chain(MemoryStore(), 50, seed=12)
    key = SigningKey.load(keyfile)
    held = [chain.ledger.checkpoint(key, ORIGIN)]
    rng = random.Random(4)
    for i in range(10):
        chain.append(rng, 50 + i)
    held.append(chain.ledger.checkpoint(key, ORIGIN))
    directory = tmp_path / "export"
    manifest = export(chain.store, directory, chunk=16)
    held_paths = []
    for i, note in enumerate(held):
        held_path = tmp_path / f"held-{i}.note"
        held_path.write_text(note)
        held_paths.append(held_path)
    return chain, directory, manifest, held_paths


def test_export_layout_and_directory_store(exported, keyfile):
    chain, directory, manifest, _ = exported
    assert manifest["format"] == "medledger-export/1" and manifest["blocks"] == 60
    assert [f["name"] for f in manifest["files"]] == [f"blocks-{i:06d}.jsonl" for i in range(4)]
    assert sorted(os.listdir(directory / "checkpoints")) == [
        "000000000050-" + SigningKey.load(keyfile).key_id.hex() + ".note",
        "000000000060-" + SigningKey.load(keyfile).key_id.hex() + ".note"]
    lines = (directory / "blocks-000000.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == chain.store.get_block(0)
    store = DirectoryStore(directory)
    assert [d["height"] for d in store.iter_blocks()] == list(range(60))
    assert store.get_block(33) == chain.store.get_block(33)
    vkey = SigningKey.load(keyfile).public()
    direct = audit(chain.store, verifiers=[vkey])
    offline = audit_export(directory, [vkey])
    assert direct.ok and offline.ok and offline.root == direct.root
    assert offline.checkpoints_checked == 2


def test_audit_export_cli_sound(exported, keyfile):
    _, directory, _, held = exported
    result = cli("audit-export", directory, "--pubkey", str(keyfile) + ".pub",
                 "--checkpoint", held[0], "--checkpoint", held[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("SOUND: 60 blocks")
    assert "attribute contents not checked" in result.stdout


def _edit_line(path, index, change):
    lines = path.read_text().splitlines()
    doc = json.loads(lines[index])
    change(doc)
    lines[index] = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")


def test_audit_export_cli_reports_tampering(exported, keyfile):
    _, directory, _, held = exported
    _edit_line(directory / "blocks-000001.jsonl", 3, lambda d: d.update(actor="someone"))
    result = cli("audit-export", directory, "--pubkey", str(keyfile) + ".pub")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("bad-block-hash height=19")
    assert lines[-1].startswith("TAMPERED (1 problems, first at height 19)")


def test_audit_export_cli_catches_a_truncated_export_with_a_held_note(exported, keyfile):
    _, directory, _, held = exported
    os.remove(directory / "blocks-000003.jsonl")
    for name in os.listdir(directory / "checkpoints"):
        os.remove(directory / "checkpoints" / name)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["tip_hint"] = 47
    (directory / "manifest.json").write_text(json.dumps(manifest))
    pub = str(keyfile) + ".pub"
    assert cli("audit-export", directory, "--pubkey", pub).returncode == 0  # looks fine alone
    result = cli("audit-export", directory, "--pubkey", pub, "--checkpoint", held[1])
    assert result.returncode == 1
    assert result.stdout.startswith("truncated height=48..59")


def test_audit_export_with_a_trust_file(exported, keyfile, tmp_path):
    _, directory, _, _ = exported
    trust = TrustFile()
    trust.add(VerifierKey.load(str(keyfile) + ".pub"), 0)
    trust.save(tmp_path / "trust.json")
    result = cli("audit-export", directory, "--trust", tmp_path / "trust.json")
    assert result.returncode == 0, result.stdout + result.stderr
    trust = TrustFile()
    trust.add(VerifierKey.load(str(keyfile) + ".pub"), 0)
    trust.add(SigningKey.generate("next").public(), 55)
    trust.save(tmp_path / "trust.json")
    result = cli("audit-export", directory, "--trust", tmp_path / "trust.json")
    assert result.returncode == 1 and "bad-signature" in result.stdout


def test_cli_errors_are_explained(tmp_path):
    result = cli("audit-export", tmp_path / "nowhere", "--pubkey", tmp_path / "none.pub")
    assert result.returncode == 2 and result.stderr.startswith("error:")


def test_unreadable_export_line_is_a_missing_block(exported, keyfile):
    _, directory, _, _ = exported
    path = directory / "blocks-000002.jsonl"
    lines = path.read_text().splitlines()
    lines[5] = lines[5][:-7]  # cut: no longer JSON
    path.write_text("\n".join(lines) + "\n")
    report = audit_export(directory, [SigningKey.load(keyfile).public()])
    assert [(p.kind, p.height) for p in report.problems] == [("missing-block", 37),
                                                             ("bad-block-hash", None)]

"""Write the ledger's conformance vectors (docs/ledger.md §14): `python docs/vectors/make.py`.

An outside verifier is only as good as the cases it was tried on, so every file here comes
from `ledger/` with fixed seeds, salts and a fixed clock: running this again writes the same
bytes (tests/ledger/test_conformance_vectors.py checks that, and runs `python -m ledger` on
every vector). Each vector's expectation is written by hand below, never copied from the
verifier's output, so the test compares the verifier with the format, not with itself.
"""
import base64
import json
import os
import shutil
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from hashlib import sha256

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from ledger.block import block_hash, header_of  # noqa: E402  (after the path: any cwd)
from ledger.chain import Ledger  # noqa: E402
from ledger.encoding import canonical  # noqa: E402
from ledger.export import export  # noqa: E402
from ledger.notes import Checkpoint, SigningKey, TrustFile, sign_note  # noqa: E402
from ledger.receipt import make_receipt, make_receipt_v1  # noqa: E402
from ledger.store import MemoryStore  # noqa: E402
from ledger.witness import Cosigner  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ORIGIN = "vectors.medledger.example/log"
CHUNK = 8
"""Blocks per export file: 20 blocks give three files, so file boundaries are exercised."""
SITE = "Clinique Saint-L\u00e9on"  # NFC; its NFD spelling is a vector of its own


def _seed(label: str) -> bytes:
    return sha256(f"medledger vectors {label}".encode()).digest()


KEY_A = SigningKey.from_seed(ORIGIN, _seed("key A"))
KEY_B = SigningKey.from_seed(ORIGIN, _seed("key B"))  # A's successor (same name, new key id)
KEY_X = SigningKey.from_seed(ORIGIN, _seed("key X"))  # trusted by nobody
WITNESS = SigningKey.from_seed("witness.vectors.example/w1", _seed("witness"))


class Clock:
    """2026-03-01T09:00:00Z, then 1.25 s later at every call."""

    def __init__(self):
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(milliseconds=1250)
        return self.now


def _salt(*parts) -> str:
    return base64.b64encode(_seed(" ".join(map(str, parts)))[:16]).decode("ascii")


def _event(height: int, variant: str = "") -> tuple:
    """(kind, subject, actor, attributes) of block `height`: a small clinical day."""
    patient = f"PAT-{height // 4:06d}-R1"
    if height % 4 == 0:
        return ("record.created", {"record": patient, "version": 1}, "act-doc1",
                {"blood_group": "AB-", "surname": "M\u00fcller", "weight_kg": f"7{height % 10}.5"})
    if height % 4 == 1:
        return ("access.requested", {"request": f"REQ-{height:04d}", "site": SITE},
                "act-doc2" + variant, {"reason": "second opinion"})
    if height % 4 == 2:
        return ("access.approved", {"request": f"REQ-{height - 1:04d}"}, "act-pat1", {})
    return ("record.read", {"record": patient, "version": 1}, "act-doc2", {})


def build(size: int, checkpoints=(8, 16, 20), rewrite_at: int | None = None,
          rotate_at: int | None = None):
    """A ledger of `size` blocks with notes signed at `checkpoints` (sizes): the same calls in
    the same order give the same bytes. rewrite_at: from that height on, the events differ (a
    forked history signed again with key A); rotate_at: block at that height rotates A to B."""
    ledger = Ledger(MemoryStore(), clock=Clock())
    key = KEY_A
    for height in range(size):
        if height == rotate_at:
            ledger.rotate_key(KEY_A, KEY_B, ORIGIN, actor="ledger-key-rotation",
                              salts={"vkey": _salt("rotation vkey"),
                                     "fingerprint": _salt("rotation fingerprint")})
            key = KEY_B
        else:
            kind, subject, actor, attributes = _event(
                height, "-forged" if rewrite_at is not None and height >= rewrite_at else "")
            ledger.append(kind, subject, actor, attributes,
                          {name: _salt(height, name) for name in attributes})
        if height + 1 in checkpoints:
            ledger.checkpoint(key, ORIGIN)
    return ledger


def disclose(ledger, height, *names):
    """{name: (value, salt)} for a receipt (the values the generator sealed)."""
    _, _, _, attributes = _event(height)
    return {name: (attributes[name], _salt(height, name)) for name in names}


def note_at(ledger, size, keys=(KEY_A,)) -> str:
    """A note signed now by `keys` over the first `size` blocks (not stored)."""
    cp = Checkpoint(ORIGIN, size, ledger.log_root(size), 1772357000000 + size)
    return sign_note(cp.body(), list(keys))


class Writer:
    """Collects files and the index while the vectors are made."""

    def __init__(self, root):
        self.root = root
        self.vectors = []

    def path(self, *parts) -> str:
        path = os.path.join(self.root, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def text(self, rel: str, text: str) -> str:
        with open(self.path(rel), "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        return rel

    def raw(self, rel: str, data: bytes) -> str:
        with open(self.path(rel), "wb") as handle:
            handle.write(data)
        return rel

    def json(self, rel: str, value) -> str:
        return self.raw(rel, canonical(value))

    def add(self, vector_id, about, command, verdict, problems=None, reason=None):
        entry = {"id": vector_id, "about": about, "command": command, "verdict": verdict}
        if problems is not None:
            entry["problems"] = [{k: v for k, v in p.items() if v is not None}
                                 for p in problems]
        if reason is not None:
            entry["reason"] = reason
        self.vectors.append(entry)


def problem(kind, height, height_end=None) -> dict:
    return {"kind": kind, "height": height, "height_end": height_end}


# Keys and trust files -------------------------------------------------------------------------

def write_keys(w: Writer) -> None:
    for name, key in (("log-a", KEY_A), ("log-b", KEY_B), ("log-x", KEY_X)):
        w.text(f"keys/{name}.pub", f"{key.public()}\n")
    w.text("keys/witness-w1.pub", f"{Cosigner(WITNESS).public}\n")
    rotation = TrustFile()
    rotation.add(KEY_A.public(), 0)
    rotation.add(KEY_B.public(), 13)  # the rotation block is height 12: B from size 13
    w.json("trust/rotation.json", _trust_json(rotation))
    entry_a, entry_b = ({"vkey": str(KEY_A.public()), "from_size": 0, "to_size": None},
                        {"vkey": str(KEY_B.public()), "from_size": 13, "to_size": None})
    w.json("trust/never-closed.json", {"keys": [entry_a, entry_b]})
    w.json("trust/bad-range.json", {"keys": [{**entry_a, "from_size": 13, "to_size": 12}]})
    wrong_id = str(KEY_A.public()).split("+")
    wrong_id[1] = "00000000"
    w.json("trust/bad-key-id.json", {"keys": [{**entry_a, "vkey": "+".join(wrong_id)}]})
    w.json("trust/unknown-field.json", {"keys": [{**entry_a, "to_size": 12, "note": "x"},
                                                 {**entry_b}]})
    closed = canonical({**entry_a, "to_size": 12}).decode()
    w.raw("trust/duplicate-key.json",
          ('{"keys":[' + closed + "," + canonical(entry_b).decode() + '],"keys":['
           + canonical(entry_a).decode() + "]}").encode())


def _trust_json(trust: TrustFile) -> dict:
    return {"keys": [{"vkey": str(e.vkey), "from_size": e.from_size, "to_size": e.to_size}
                     for e in trust.entries]}


# Receipts -------------------------------------------------------------------------------------

def _receipt(w, vector_id, about, receipt, verdict, reason=None, keys=("log-a",), trust=None,
             data: bytes | None = None):
    rel = f"receipts/{vector_id}.json"
    w.raw(rel, data if data is not None else canonical(receipt))
    command = ["verify-receipt", rel]
    for key in keys:
        command += ["--pubkey", f"keys/{key}.pub"]
    if trust:
        command += ["--trust", f"trust/{trust}.json"]
    w.add(f"receipt-{vector_id}", about, command, verdict, reason=reason)


def _swap_in(data: bytes, old: str, new: str) -> bytes:
    assert data.count(old.encode()) == 1, old
    return data.replace(old.encode(), new.encode())


def write_receipts(w: Writer, base, rotated) -> None:
    note = base.store.latest_checkpoint()["note"]  # size 20, key A
    good = make_receipt(base, 4, note, disclose(base, 4, "blood_group", "surname"))
    _receipt(w, "genuine", "format 2, two attributes disclosed (one non-ASCII)", good, "VALID")
    _receipt(w, "genuine-nothing-disclosed", "format 2, no attribute disclosed",
             make_receipt(base, 13, note), "VALID")
    _receipt(w, "genuine-format1", "format 1, still verified",
             make_receipt_v1(base, 4, note, disclose(base, 4, "weight_kg")), "VALID")
    _receipt(w, "genuine-last-block", "format 2, the last block of the signed size",
             make_receipt(base, 19, note), "VALID")
    pretty = json.dumps(good, indent=2, sort_keys=False, ensure_ascii=True).encode()
    _receipt(w, "reserialised", "the genuine receipt re-serialised: whitespace, member order "
             "and \\u escapes change no value, so the verdict is the same", good, "VALID",
             data=pretty)
    edits = [
        ("disclosed-value-edited", "a disclosed value changed (AB- to AB+)",
         lambda r: r["disclosed"][0].update(value="AB+"), "does not match"),
        ("header-actor-edited", "a header field changed", lambda r: r["block"].update(
            actor="act-doc9"), "inclusion proof does not lead"),
        ("height-edited", "the block claims another height",
         lambda r: r["block"].update(height=5), "inclusion proof does not lead"),
        ("height-beyond-size", "a height at the signed size",
         lambda r: r["block"].update(height=20), "inclusion proof does not lead"),
        ("inclusion-short", "the inclusion path lost its last hash",
         lambda r: r.update(inclusion=r["inclusion"][:-43]), "inclusion"),
        ("extra-field", "an unknown top-level field",
         lambda r: r.update(comment="hi"), "unknown-field"),
        ("disclosed-twice", "one attribute disclosed twice",
         lambda r: r["disclosed"].append(dict(r["disclosed"][0])), "disclosed twice"),
        ("index-out-of-range", "a disclosed index not below attr_count",
         lambda r: r["disclosed"][0].update(index=3), "bad name or index"),
        ("unknown-format", "an unknown format string",
         lambda r: r.update(format="medledger-receipt/3"), "unknown format"),
        ("salt-not-canonical", "a salt that is not 16 bytes of standard base64",
         lambda r: r["disclosed"][0].update(salt=r["disclosed"][0]["salt"].rstrip("=")),
         "does not match"),
    ]
    for vector_id, about, edit, reason in edits:
        receipt = json.loads(json.dumps(good))
        edit(receipt)
        _receipt(w, vector_id, about, receipt, "INVALID", reason)
    data = canonical(good)
    root = good["block"]["attr_root"]
    # The last character of a 32-byte base64url string carries 4 bits and 2 unused ones.
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    loose = root[:-1] + last[last.index(root[-1]) | 1]
    _receipt(w, "hash-not-canonical-base64url", "attr_root with a nonzero unused low bit",
             good, "INVALID", "not canonical base64url",
             data=_swap_in(data, f'"attr_root":"{root}"', f'"attr_root":"{loose}"'))
    forged = dict(good, checkpoint=note_at(base, 20, (KEY_X,)))
    _receipt(w, "note-unknown-key", "the checkpoint is signed by a key nobody trusts", forged,
             "INVALID", "no signature by a known key")
    body, sig = note.rsplit(" ", 1)
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    _receipt(w, "note-signature-edited", "one character of the signature changed",
             dict(good, checkpoint=f"{body} {flipped}"), "INVALID", "checkpoint signature")
    write_strict_receipts(w, good, data)
    write_rotation_receipts(w, rotated)
    write_witness_receipts(w, base, good, note)


def write_witness_receipts(w: Writer, base, good: dict, note: str) -> None:
    """`--witness W.pub --require N`: the note must carry N of those witnesses' cosignatures."""
    cosigned = make_receipt(base, 4, _cosigned(note), disclose(base, 4, "blood_group", "surname"))
    witness = ["--witness", "keys/witness-w1.pub"]
    for vector_id, receipt, extra, verdict, reason in (
            ("witness-cosigned", cosigned, witness, "VALID", "cosigned by"),
            ("witness-missing", good, witness, "INVALID", "carries 0 cosignature"),
            ("witness-require-two", cosigned, witness + ["--require", "2"], "INVALID",
             "1 cosignature(s) from the witnesses given, 2 required")):
        rel = w.json(f"receipts/{vector_id}.json", receipt)
        w.add(f"receipt-{vector_id}", f"witness cosignatures: {' '.join(extra)}",
              ["verify-receipt", rel, "--pubkey", "keys/log-a.pub", *extra], verdict,
              reason=reason)


def write_strict_receipts(w: Writer, good: dict, data: bytes) -> None:
    """Duplicate keys and NFD text: the strict loader rejects them (docs/ledger.md, Strict
    parsing); until it lands a last-key-wins parser shows the forged value as VALID."""
    value = '"value":"AB-"'
    _receipt(w, "duplicate-key-disclosed-value", "the disclosed value twice: a first-key "
             "parser shows AB+, a last-key parser AB-; neither may say VALID", good, "INVALID",
             "duplicate-key",
             data=_swap_in(data, value, '"value":"AB+",' + value))
    _receipt(w, "duplicate-key-block", "the block's actor twice", good, "INVALID",
             "duplicate-key",
             data=_swap_in(data, '"actor":"act-doc1"', '"actor":"act-forged","actor":"act-doc1"'))
    nfd = unicodedata.normalize("NFD", "M\u00fcller")
    _receipt(w, "nfd-disclosed-value", "the disclosed surname in NFD (u + combining "
             "diaeresis): not the sealed bytes, and never normalised", good, "INVALID",
             "not-nfc",
             data=_swap_in(data, '"value":"M\u00fcller"', f'"value":"{nfd}"'))


def write_rotation_receipts(w: Writer, rotated) -> None:
    notes = {doc["size"]: doc["note"] for doc in rotated.store.iter_checkpoints()}
    old = make_receipt(rotated, 3, notes[8])  # key A, before the rotation
    new = make_receipt(rotated, 15, notes[20])  # key B
    handover = make_receipt(rotated, 12, notes[13])  # the rotation block, signed by A and B
    cases = [
        ("rotation-old-with-trust", old, ("log-b",), "rotation", "VALID", None),
        ("rotation-old-new-key-only", old, ("log-b",), None, "INVALID",
         "no signature by a known key"),
        ("rotation-old-old-key-only", old, ("log-a",), None, "VALID", None),
        ("rotation-new-with-trust", new, (), "rotation", "VALID", None),
        ("rotation-new-old-key-only", new, ("log-a",), None, "INVALID",
         "no signature by a known key"),
        ("rotation-handover-old-key", handover, ("log-a",), None, "VALID", None),
        ("rotation-handover-new-key", handover, ("log-b",), None, "VALID", None),
    ]
    about = {"old": "signed by A at size 8", "new": "signed by B at size 20",
             "handover": "the rotation block under the size-13 note signed by A and B"}
    for vector_id, receipt, keys, trust, verdict, reason in cases:
        which = "old" if receipt is old else "new" if receipt is new else "handover"
        _receipt(w, vector_id, f"{about[which]}; keys {', '.join(keys) or 'none'}, trust "
                 f"{trust or 'none'}", receipt, verdict, reason, keys, trust)
    stolen = make_receipt(rotated, 15, note_at(rotated, 20, (KEY_A,)))
    _receipt(w, "rotation-retired-key-signs-later", "A (retired at size 13) signs size 20: "
             "the trust file refuses it", stolen, "INVALID", "not trusted for size 20",
             (), "rotation")
    _receipt(w, "rotation-trust-never-closed", "the same note under a trust file that never "
             "closed A's range: the trust file, not the note, decides", stolen, "VALID",
             None, (), "never-closed")
    for trust, reason in (("bad-range", "bad size range"),
                          ("bad-key-id", "does not match the key"),
                          ("unknown-field", "unknown-field"),
                          ("duplicate-key", "duplicate-key")):
        _receipt(w, f"trust-{trust}", f"trust file {trust}.json: the verifier refuses to run",
                 old, "ERROR", reason, (), trust)


# Exports --------------------------------------------------------------------------------------

def _export(w: Writer, vector_id: str, ledger) -> str:
    rel = f"exports/{vector_id}"
    directory = os.path.join(w.root, rel)
    manifest = export(ledger.store, directory, chunk=CHUNK)
    manifest["exported_at"] = "2026-03-01T10:00:00.000Z"  # export() writes the clock's time
    _write_manifest(directory, manifest)
    return rel


def _write_manifest(directory, manifest):
    with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")


def _lines(w, rel, file_index):
    path = os.path.join(w.root, rel, f"blocks-{file_index:06d}.jsonl")
    with open(path, "rb") as handle:
        return path, handle.read().split(b"\n")[:-1]


def _edit_block(w, rel, height, edit=None, raw=None):
    """Rewrite block `height`'s line: edit(doc) re-encoded canonically, or raw(bytes)."""
    path, lines = _lines(w, rel, height // CHUNK)
    index = height % CHUNK
    if raw is not None:
        lines[index] = raw(lines[index])
    else:
        doc = json.loads(lines[index])
        edit(doc)
        lines[index] = canonical(doc)
    with open(path, "wb") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


def _drop_blocks(w, rel, heights):
    for file_index in sorted({h // CHUNK for h in heights}):
        path, lines = _lines(w, rel, file_index)
        kept = [line for i, line in enumerate(lines) if file_index * CHUNK + i not in heights]
        with open(path, "wb") as handle:
            handle.write(b"".join(line + b"\n" for line in kept))


def _export_vector(w, vector_id, ledger, about, verdict, problems, tamper=None, keys=("log-a",),
                   trust=None, held=()):
    rel = _export(w, vector_id, ledger)
    if tamper is not None:
        tamper(rel)
    command = ["audit-export", rel]
    for key in keys:
        command += ["--pubkey", f"keys/{key}.pub"]
    if trust:
        command += ["--trust", f"trust/{trust}.json"]
    for note in held:
        command += ["--checkpoint", note]
    w.add(f"export-{vector_id}", about, command, verdict, problems)


def _manifest_edit(w, rel, **changes):
    directory = os.path.join(w.root, rel)
    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    manifest.update(changes)
    _write_manifest(directory, manifest)


def _rehash(doc):
    """Recompute a tampered block's stored hash, as an insider with write access would."""
    doc["hash"] = block_hash(header_of(doc)).hex()


def write_exports(w: Writer, base, rotated, forked, longer) -> None:
    ok, bad = "SOUND", "TAMPERED"
    ex = lambda *a, **k: _export_vector(w, *a, **k)  # noqa: E731
    ex("genuine", base, "20 blocks in three files, checkpoints at 8, 16, 20", ok, [])

    def actor(doc):
        doc["actor"] = "act-doc9"
    ex("header-edited", base, "block 5's actor changed, its stored hash left alone", bad,
       [problem("bad-block-hash", 5)], lambda rel: _edit_block(w, rel, 5, actor))
    ex("hash-edited", base, "block 5's stored hash replaced", bad,
       [problem("bad-block-hash", 5)],
       lambda rel: _edit_block(w, rel, 5, lambda d: d.update(hash="ab" * 32)))
    ex("header-edited-rehashed", base, "block 5 edited and re-hashed: the link from 6 and "
       "every checkpoint from size 8 on catch it", bad,
       [problem("broken-link", 6), problem("inconsistent-with-checkpoint", 0, 7),
        problem("inconsistent-with-checkpoint", 0, 15),
        problem("inconsistent-with-checkpoint", 0, 19)],
       lambda rel: _edit_block(w, rel, 5, lambda d: (actor(d), _rehash(d))))
    ex("attr-leaf-edited", base, "one attribute leaf hash of block 4 changed", bad,
       [problem("bad-attr-root", 4)],
       lambda rel: _edit_block(w, rel, 4, lambda d: d["attr_leaves"].__setitem__(0, "00" * 32)))
    ex("block-deleted", base, "block 10 removed (a gap; checkpoints past it are not compared)",
       bad, [problem("missing-block", 10)], lambda rel: _drop_blocks(w, rel, {10}))
    ex("tail-deleted", base, "blocks 17..19 removed: the size-20 checkpoint shows it", bad,
       [problem("truncated", 17, 19)], lambda rel: _drop_blocks(w, rel, {17, 18, 19}))
    ex("id-edited", base, "block 6's _id set to 60 (height places it; _id must equal it)", bad,
       [problem("bad-block-hash", 6)], lambda rel: _edit_block(w, rel, 6, lambda d: d.update(
           _id=60)))
    ex("lines-reordered", base, "lines of blocks 2 and 3 swapped in their file, documents "
       "unchanged: the height field places a block, not the line", ok, [],
       lambda rel: _swap_lines(w, rel, 2, 3))
    ex("swap", base, "blocks 2 and 3 exchanged with their height and _id rewritten to the new "
       "places (each keeps its stored hash)", bad,
       [problem("bad-block-hash", 2), problem("broken-link", 2), problem("bad-block-hash", 3),
        problem("broken-link", 3), problem("broken-link", 4),
        problem("inconsistent-with-checkpoint", 0, 7),
        problem("inconsistent-with-checkpoint", 0, 15),
        problem("inconsistent-with-checkpoint", 0, 19)],
       lambda rel: _swap_blocks(w, rel, 2, 3))
    ex("duplicate-line", base, "block 9's line written twice", bad,
       [problem("bad-block-hash", 9)], lambda rel: _duplicate_line(w, rel, 9))
    ex("manifest-tip-hint-lowered", base, "manifest tip_hint 3 (informative only)", ok, [],
       lambda rel: _manifest_edit(w, rel, tip_hint=3))
    ex("manifest-tip-hint-raised", base, "manifest tip_hint 40 (informative only: no "
       "`truncated`)", ok, [], lambda rel: _manifest_edit(w, rel, tip_hint=40))
    ex("manifest-counts-edited", base, "manifest blocks, files and checkpoints rewritten", ok,
       [], lambda rel: _manifest_edit(w, rel, blocks=3, files=[], checkpoints=[],
                                      latest_checkpoint_size=99))
    ex("note-edited", base, "the size-16 note's root changed (its signature no longer "
       "verifies)", bad, [problem("bad-signature", None)],
       lambda rel: _edit_note(w, rel, 16))
    ex("note-unknown-key", base, "an extra note signed by a key nobody trusts", bad,
       [problem("bad-signature", None)],
       lambda rel: w.text(f"{rel}/checkpoints/000000000020-x.note", note_at(base, 20, (KEY_X,))))
    write_strict_exports(w, base)
    write_held(w, base, forked, longer)
    write_rotated_exports(w, rotated)


def _swap_lines(w, rel, first, second):
    path, lines = _lines(w, rel, first // CHUNK)
    a, b = first % CHUNK, second % CHUNK
    lines[a], lines[b] = lines[b], lines[a]
    with open(path, "wb") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


def _swap_blocks(w, rel, first, second):
    path, lines = _lines(w, rel, first // CHUNK)
    a, b = first % CHUNK, second % CHUNK
    docs = [json.loads(lines[a]), json.loads(lines[b])]
    docs[0].update(height=second, _id=second)
    docs[1].update(height=first, _id=first)
    lines[a], lines[b] = canonical(docs[1]), canonical(docs[0])
    with open(path, "wb") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


def _duplicate_line(w, rel, height):
    path, lines = _lines(w, rel, height // CHUNK)
    lines.insert(height % CHUNK, lines[height % CHUNK])
    with open(path, "wb") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


def _edit_note(w, rel, size):
    folder = os.path.join(w.root, rel, "checkpoints")
    name = next(n for n in sorted(os.listdir(folder)) if n.startswith(f"{size:012d}-"))
    with open(os.path.join(folder, name), encoding="utf-8", newline="") as handle:
        lines = handle.read().split("\n")
    lines[2] = base64.b64encode(b"\x00" * 32).decode()
    w.text(f"{rel}/checkpoints/{name}", "\n".join(lines))


def write_strict_exports(w: Writer, base) -> None:
    """Lines a last-key-wins, normalising reader accepts; the strict loader refuses them."""
    ex = lambda *a, **k: _export_vector(w, *a, **k)  # noqa: E731
    ex("duplicate-key", base, "block 5's line with a forged actor before the genuine one",
       "TAMPERED", [problem("duplicate-key", 5)], lambda rel: _edit_block(
           w, rel, 5, raw=lambda line: line.replace(b'"actor":', b'"actor":"act-x","actor":', 1)))
    nfd = unicodedata.normalize("NFD", SITE).encode()
    ex("nfd", base, "block 5's subject site in NFD: canonical() would normalise it and the "
       "hash would still match; the strict loader refuses it", "TAMPERED",
       [problem("not-nfc", 5)], lambda rel: _edit_block(
           w, rel, 5, raw=lambda line: line.replace(SITE.encode(), nfd)))
    ex("not-canonical", base, "block 5's line re-serialised with spaces", "TAMPERED",
       [problem("not-canonical", 5)], lambda rel: _edit_block(
           w, rel, 5, raw=lambda line: json.dumps(json.loads(line), ensure_ascii=False,
                                                  sort_keys=True).encode()))


def write_held(w: Writer, base, forked, longer) -> None:
    """Notes the auditor kept (`--checkpoint`): the one thing a re-signing insider cannot fake."""
    held16 = next(d["note"] for d in base.store.iter_checkpoints() if d["size"] == 16)
    notes = {
        "genuine-16": held16,
        "longer-24": longer.store.latest_checkpoint()["note"],
        "extra-lines": sign_note(Checkpoint(ORIGIN, 20, base.log_root(20), 1).body()
                                 + "vectors extension line\n", [KEY_A]),
        "no-timestamp": sign_note(Checkpoint(ORIGIN, 20, base.log_root(20)).body(), [KEY_A]),
        "other-origin": sign_note(Checkpoint("other.example/log", 20, base.log_root(20),
                                             1).body(), [KEY_A]),
        "two-timestamps": sign_note(Checkpoint(ORIGIN, 20, base.log_root(20), 1).body()
                                    + "timestamp 2\n", [KEY_A]),
        "witness-cosigned": _cosigned(held16),
        "crlf": held16.replace("\n", "\r\n"),
        "same-key-twice-second-broken": _append_line(held16, held16.rstrip("\n").rsplit(
            "\n", 1)[1][:-8] + "AAAAAAA="),
    }
    for name, text in notes.items():
        w.text(f"notes/{name}.note", text)
    ex = lambda *a, **k: _export_vector(w, *a, **k)  # noqa: E731
    held = lambda name: (f"notes/{name}.note",)  # noqa: E731
    ex("held-genuine", base, "the genuine export against a held size-16 note", "SOUND", [],
       held=held("genuine-16"))
    ex("held-forked", forked, "history rewritten from block 12 and re-signed with key A; the "
       "auditor held the genuine size-16 note", "TAMPERED",
       [problem("inconsistent-with-checkpoint", 8, 15)], held=held("genuine-16"))
    ex("held-longer", base, "the auditor holds a size-24 note: the export lost a tail", "TAMPERED",
       [problem("truncated", 20, 23)], held=held("longer-24"))
    for name, verdict, problems in (
            ("extra-lines", "SOUND", []), ("no-timestamp", "SOUND", []),
            ("other-origin", "SOUND", []), ("witness-cosigned", "SOUND", []),
            ("same-key-twice-second-broken", "SOUND", []),
            ("two-timestamps", "TAMPERED", [problem("bad-signature", None)]),
            ("crlf", "TAMPERED", [problem("bad-signature", None)])):
        ex(f"held-{name}", base, f"held note notes/{name}.note", verdict, problems,
           held=held(name))


def _append_line(note: str, line: str) -> str:
    return f"{note}{line}\n"


def _cosigned(note: str) -> str:
    body = note[:note.rfind("\n\n") + 1]
    return note + Cosigner(WITNESS).cosign(body, 1772357500)


def write_rotated_exports(w: Writer, rotated) -> None:
    ex = lambda *a, **k: _export_vector(w, *a, **k)  # noqa: E731
    about = "A signs sizes 8 and 12, block 12 rotates to B, A and B sign 13, B signs 20"
    ex("rotation-trust", rotated, about + "; --trust", "SOUND", [], keys=(), trust="rotation")
    handover = next(d["note"] for d in rotated.store.iter_checkpoints() if d["size"] == 13)
    head, b_line = handover.rstrip("\n").rsplit("\n", 1)
    b_name, b_sig = b_line.rsplit(" ", 1)
    bad_b = b_sig[:20] + ("A" if b_sig[20] != "A" else "B") + b_sig[20 + 1:]
    w.text("notes/handover-bad-second-signature.note", f"{head}\n{b_name} {bad_b}\n")
    ex("rotation-held-bad-second-signature", rotated, about + "; held: the size-13 note with "
       "A's good signature and B's broken one (a trusted key's bad signature rejects the note)",
       "TAMPERED", [problem("bad-signature", None)], keys=(), trust="rotation",
       held=("notes/handover-bad-second-signature.note",))
    ex("rotation-both-keys", rotated, about + "; both keys, no trust file", "SOUND", [],
       keys=("log-a", "log-b"))
    ex("rotation-new-key-only", rotated, about + "; only B: A's notes fail", "TAMPERED",
       [problem("bad-signature", None), problem("bad-signature", None)], keys=("log-b",))
    ex("rotation-old-key-only", rotated, about + "; only A: B's note fails", "TAMPERED",
       [problem("bad-signature", None)], keys=("log-a",))
    ex("rotation-vkey-edited", rotated, about + "; rotations/000000000012.json names key X: "
       "its leaf no longer matches the sealed one", "TAMPERED",
       [problem("attribute-mismatch", 12)], keys=(), trust="rotation",
       tamper=lambda rel: _edit_rotation(w, rel, lambda r: r["attributes"].update(
           vkey=str(KEY_X.public()))))
    ex("rotation-file-malformed", rotated, about + "; the rotation file lost its salts",
       "TAMPERED", [problem("attribute-mismatch", 12)], keys=(), trust="rotation",
       tamper=lambda rel: _edit_rotation(w, rel, lambda r: r.pop("salts")))
    ex("rotation-retired-key-signs-later", rotated, about + "; plus a size-20 note by A, "
       "refused by the trust file", "TAMPERED", [problem("bad-signature", None)],
       keys=(), trust="rotation",
       tamper=lambda rel: w.text(f"{rel}/checkpoints/000000000020-a.note",
                                 note_at(rotated, 20, (KEY_A,))))


def _edit_rotation(w, rel, edit):
    path = os.path.join(w.root, rel, "rotations", "000000000012.json")
    with open(path, encoding="utf-8") as handle:
        rotation = json.load(handle)
    edit(rotation)
    w.raw(os.path.relpath(path, w.root), canonical(rotation) + b"\n")


# The index ------------------------------------------------------------------------------------

def generate(root: str) -> None:
    """Write every vector and docs/vectors/index.json under `root` (emptied first)."""
    for name in ("keys", "trust", "receipts", "exports", "notes", "index.json"):
        path = os.path.join(root, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    w = Writer(root)
    base = build(20)
    rotated = build(20, checkpoints=(8, 12, 20), rotate_at=12)
    forked = build(20, rewrite_at=12)
    longer = build(24, checkpoints=(8, 16, 20, 24))
    write_keys(w)
    write_receipts(w, base, rotated)
    write_exports(w, base, rotated, forked, longer)
    index = {"format": "medledger-vectors/1",
             "about": "Run each command as `python -m ledger <command…>` from this folder; "
                      "docs/ledger.md §14 says how to compare.",
             "keys": {"log-a": "the log's first key", "log-b": "its successor after the "
                      "rotation at height 12 (trusted from size 13)", "log-x": "trusted by "
                      "nobody"},
             "vectors": w.vectors}
    with open(os.path.join(root, "index.json"), "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=1, ensure_ascii=False)
        handle.write("\n")


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else HERE)

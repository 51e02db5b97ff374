"""Audit export: the whole ledger as plain files an auditor can take away and check offline.

Directory layout (format `medledger-export/1`):

    manifest.json                   what was exported (informative only: no value in it
                                    changes a verdict; the signatures and hashes carry the proof)
    blocks-000000.jsonl, ...        one stored block document per line, canonical JSON,
                                    in height order, `chunk` blocks per file
    checkpoints/<size>-<key id>.note  the stored signed checkpoint notes
    rotations/<height>.json         each key rotation's public attributes and salts, so the
                                    offline audit checks them against the rotation block

DirectoryStore reads such a directory with the store interface, so the very same audit()
runs on it; it streams one chunk file at a time. Every file is read by the strict rule
(ledger.strict): a block line must be exactly canonical(doc) with no unknown field, and what
breaks the rule is a problem of its own kind at that line's height. The manifest's tip hint
is not evidence of truncation: offline, only signed checkpoints are (a chain cut after the
last signed checkpoint cannot be seen from the export alone).
"""
import hashlib
import json
import os
from datetime import datetime, timezone

from ledger.audit import AttributeSourceError, Problem, audit
from ledger.block import HEADER_FIELDS, ROTATION_KIND
from ledger.encoding import CanonicalError, canonical, rfc3339
from ledger.notes import Checkpoint, NoteError
from ledger.store import DEFAULT_BATCH, _by_height
from ledger.strict import NOT_JSON, read_json

__all__ = ["EXPORT_FORMAT", "export", "audit_export", "DirectoryStore"]

EXPORT_FORMAT = "medledger-export/1"
CHUNK = 100000
ROTATION_FIELDS = frozenset({"height", "attributes", "salts"})
LINE_FIELDS = frozenset(HEADER_FIELDS) | {"_id", "attr_leaves", "hash", "mac"}
"""A block line is closed: the header, `_id`, the leaf hashes, the hash, the writer's MAC."""


def _line(doc: dict) -> bytes:
    """Canonical JSON of a stored document; a tampered value outside the canonical domain
    is still written (as plain sorted JSON) so the offline audit sees and reports it."""
    try:
        return canonical(doc)
    except CanonicalError:
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode("utf-8")


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_+" else "_" for ch in text)


def export(store, directory, chunk: int = CHUNK) -> dict:
    """Write the ledger in `store` to `directory` (created if needed); returns the manifest."""
    os.makedirs(os.path.join(directory, "checkpoints"), exist_ok=True)
    files, out, count, first, last, digest = [], None, 0, None, None, None

    def close():
        if out is not None:
            out.close()
            files.append({"name": name, "first_height": first, "last_height": last,
                          "count": count, "sha256": digest.hexdigest()})

    for doc in store.iter_blocks(0, None, DEFAULT_BATCH):
        if out is None or count >= chunk:
            close()
            name = f"blocks-{len(files):06d}.jsonl"
            out = open(os.path.join(directory, name), "wb")
            count, first, digest = 0, doc.get("height"), hashlib.sha256()
        data = _line(doc) + b"\n"
        out.write(data)
        digest.update(data)
        count, last = count + 1, doc.get("height")
    close()
    notes = []
    for doc in store.iter_checkpoints():
        note_name = f"{doc['size']:012d}-{_safe(str(doc.get('key_id', '')))}.note"
        with open(os.path.join(directory, "checkpoints", note_name), "w",
                  encoding="utf-8", newline="") as f:
            f.write(doc["note"])
        notes.append(note_name)
        if doc.get("rotation"):
            _write_rotation(directory, doc["rotation"])
    manifest = {"format": EXPORT_FORMAT, "exported_at": rfc3339(datetime.now(timezone.utc)),
                "blocks": sum(f["count"] for f in files), "files": files,
                "checkpoints": notes, "tip_hint": store.tip_hint(),
                "latest_checkpoint_size": store.latest_checkpoint_size()}
    with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def _write_rotation(directory, rotation: dict) -> None:
    """rotations/<height>.json: {height, attributes, salts}, public by design (§6)."""
    os.makedirs(os.path.join(directory, "rotations"), exist_ok=True)
    with open(os.path.join(directory, "rotations", f"{rotation['height']:012d}.json"),
              "wb") as f:
        f.write(_line(rotation) + b"\n")


class DirectoryStore:
    """A read-only store over an export directory (the same interface audit() needs)."""

    def __init__(self, directory):
        self.directory = directory
        self.problems = {}  # (file, line number) -> Problem: lines that break the strict rule
        with open(os.path.join(directory, "manifest.json"), "rb") as f:
            self.manifest, error = read_json(f.read())
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != EXPORT_FORMAT:
            raise ValueError(f"{directory} is not a {EXPORT_FORMAT} directory")
        if error is not None:
            self.problems["manifest.json", 0] = Problem(error.kind, None,
                                                        f"manifest.json: {error.reason}")
        self._files = sorted(name for name in os.listdir(directory)
                             if name.startswith("blocks-") and name.endswith(".jsonl"))

    def _read(self, name) -> list:
        docs = []
        with open(os.path.join(self.directory, name), "rb") as f:
            for number, line in enumerate(f, 1):
                doc, error = read_json(line.removesuffix(b"\n"), canonical_form=True,
                                       fields=LINE_FIELDS)
                if (error is not None and error.kind == NOT_JSON) or not isinstance(doc, dict):
                    doc = {"_id": f"{name}:{number}", "height": None}
                elif error is not None:
                    height = doc.get("height")
                    self.problems[name, number] = Problem(
                        error.kind, height if type(height) is int else None,
                        f"{name} line {number}: {error.reason}")
                docs.append(doc)
        return docs

    def iter_blocks(self, start: int = 0, stop: int | None = None, batch: int = DEFAULT_BATCH):
        """Blocks in height order, one chunk file in memory at a time."""
        for name in self._files:
            for doc in _by_height(self._read(name)):
                height = doc.get("height")
                if not isinstance(height, int):
                    yield doc  # let the audit report the stray line
                elif height >= start and (stop is None or height < stop):
                    yield doc

    def get_block(self, height: int) -> dict | None:
        for doc in self.iter_blocks(height, height + 1):
            if doc.get("height") == height and doc.get("_id") == height:
                return doc
        return None

    def tip_hint(self) -> int:
        """None known: the manifest's `tip_hint` is informative, never evidence."""
        return -1

    def size_hint(self) -> int:
        last = [f.get("last_height") for f in self.manifest.get("files", [])]
        return max((h for h in last if isinstance(h, int)), default=-1) + 1

    def latest_checkpoint_size(self) -> int:
        return max((d["size"] for d in self.iter_checkpoints()), default=-1)

    def iter_checkpoints(self):
        folder = os.path.join(self.directory, "checkpoints")
        docs = []
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if not name.endswith(".note"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8", newline="") as f:
                note = f.read()
            docs.append({"_id": name, "size": _note_size(note, name), "note": note})
        return iter(sorted(docs, key=lambda d: (d["size"], d["_id"])))

    def latest_checkpoint(self) -> dict | None:
        docs = list(self.iter_checkpoints())
        return docs[-1] if docs else None

    def rotations(self) -> dict:
        """{height: {attributes, salts} or None if the file is malformed}, from rotations/."""
        folder = os.path.join(self.directory, "rotations")
        found = {}
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            height = name.removesuffix(".json")
            if not (name.endswith(".json") and height.isdigit()):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                data, error = read_json(f.read(), fields=ROTATION_FIELDS)
            data = None if error else data
            ok = (isinstance(data, dict) and data.get("height") == int(height)
                  and isinstance(data.get("attributes"), dict)
                  and isinstance(data.get("salts"), dict))
            found[int(height)] = data if ok else None
        return found


def _note_size(note: str, name: str) -> int:
    split = note.rfind("\n\n")
    try:
        return Checkpoint.parse_body(note[:split + 1]).size
    except NoteError:
        prefix = name.split("-", 1)[0]
        return int(prefix) if prefix.isdigit() else 0


def _rotation_source(rotations: dict):
    """An attribute source for the key-rotation blocks only (their attributes are public)."""
    def source(doc):
        height = doc.get("height")
        if doc.get("kind") != ROTATION_KIND or height not in rotations:
            return None
        data = rotations[height]
        if data is None:
            raise AttributeSourceError("attribute-mismatch", f"rotations/{height:012d}.json "
                                       "is not {height, attributes, salts}")
        return data["attributes"], data["salts"]
    return source


def audit_export(directory, verifiers, **options):
    """audit() over an export directory: everything but attribute contents (no data key),
    except the key rotations' public attributes, checked against their blocks' leaves; plus
    the lines that break the strict rule (one problem per line, not repeated when the audit
    already reported the same kind at that height)."""
    store = DirectoryStore(directory)
    rotations = store.rotations()
    if not rotations or "attribute_source" in options:
        report = audit(store, verifiers=verifiers, **options)
    else:
        report = audit(store, verifiers=verifiers, attribute_source=_rotation_source(rotations),
                       **options)
        note = "attribute contents not checked but for key rotations: no data key"
        report.offline_note = "; ".join(filter(None, (note, report.offline_note)))
    seen = {(p.kind, p.height) for p in report.problems}
    for problem in store.problems.values():
        if (problem.kind, problem.height) not in seen:
            report.add(problem)
    report.problems.sort(key=lambda p: (p.height is None, p.height or 0))
    return report

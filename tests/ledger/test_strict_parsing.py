"""One reading of every verified document (issue 19): what a lenient JSON parser resolves
silently (a key twice, NFD text, an unknown field, non-canonical bytes) is a reported problem,
and the export's manifest never changes a verdict."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.__main__ import main
from ledger.audit import audit
from ledger.chain import Ledger
from ledger.encoding import CanonicalError, canonical
from ledger.export import audit_export, export
from ledger.notes import NoteError, TrustFile
from ledger.receipt import make_receipt, verify_receipt
from ledger.store import MemoryStore
from ledger.strict import StrictError, loads_strict, read_json

ORIGIN = "medledger.test/log"
SALT = "EBESExQVFhcYGRobHB0eHw=="
NFC, NFD = "Zo\u00eb", "Zoe\u0308"


@pytest.fixture
def sealed(key, step_clock):
    """A small ledger: block 1 seals a document number and a name with a non-ASCII letter."""
    ledger = Ledger(MemoryStore(), clock=step_clock)
    ledger.append("record.created", {"record": "PAT-000001-R1", "version": 1}, "act-1", {}, {})
    ledger.append("record.created", {"record": NFC, "version": 1}, "act-2",
                  {"document": "DOC-000002", "name": NFC}, {"document": SALT, "name": SALT})
    ledger.append("record.read", {"record": "PAT-000001-R1", "version": 1}, "act-3", {}, {})
    note = ledger.checkpoint(key, ORIGIN)
    return ledger, note


def _receipt_bytes(sealed, disclose):
    ledger, note = sealed
    return canonical(make_receipt(ledger, 1, note, {n: (v, SALT) for n, v in disclose.items()}))


@pytest.mark.parametrize("text, kind", [
    (b'{"a":1,"a":2}', "duplicate-key"),
    (b'{"a":{"b":1,"b":1}}', "duplicate-key"),
    ('{"a":"Zoe\u0308"}'.encode(), "not-nfc"),
    (b'{"a":["Zoe\\u0308"]}', "not-nfc"),
    ('{"Zoe\u0308":1}'.encode(), "not-nfc"),
    (b'{"a":1,"b":2}', "unknown-field"),
    (b'{"a":NaN}', "not-json"),
    (b'{"a":1', "not-json"),
    (b'\xff', "not-json"),
])
def test_the_rule_names_the_kind(text, kind):
    with pytest.raises(StrictError) as caught:
        loads_strict(text, fields={"a"})
    assert caught.value.kind == kind and str(caught.value).startswith(kind + ": ")
    assert loads_strict('{"a":"Zo\u00eb"}'.encode(), fields={"a"}) == {"a": NFC}


def test_duplicate_key_receipt_is_invalid(sealed, key):
    """The issue's example: a forged value first, the sealed one last (which a last-key
    parser keeps, so the forged one could be shown under a VALID verdict)."""
    raw = _receipt_bytes(sealed, {"document": "DOC-000002"})
    forged = raw.replace(b'"value":"DOC-000002"', b'"value":"DOC-000099","value":"DOC-000002"')
    assert forged != raw and verify_receipt(raw, key.public())[0]
    assert verify_receipt(json.loads(forged), key.public())[0]  # what a lenient reader sees
    ok, reason = verify_receipt(forged, key.public())
    assert not ok and reason == "duplicate-key: key 'value' appears twice in one object"


def test_duplicate_key_receipt_is_invalid_on_the_command_line(sealed, key, tmp_path, capsys):
    raw = _receipt_bytes(sealed, {"document": "DOC-000002"})
    key.public().save(tmp_path / "k.pub")
    path = tmp_path / "receipt.json"
    path.write_bytes(raw)
    assert main(["verify-receipt", str(path), "--pubkey", str(tmp_path / "k.pub")]) == 0
    path.write_bytes(raw.replace(b'"salt"', b'"salt":"x","salt"', 1))
    assert main(["verify-receipt", str(path), "--pubkey", str(tmp_path / "k.pub")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "INVALID: duplicate-key: key 'salt' appears twice in one object")


def test_nfd_disclosed_value_is_invalid(sealed, key):
    raw = _receipt_bytes(sealed, {"name": NFC})
    assert verify_receipt(raw, key.public())[0]
    escaped = raw.replace(NFC.encode(), b"Zoe\\u0308")  # the same NFD text, JSON-escaped
    for variant in (raw.replace(NFC.encode(), NFD.encode()), escaped,
                    json.loads(raw.replace(NFC.encode(), NFD.encode()))):
        ok, reason = verify_receipt(variant, key.public())
        assert not ok and reason.startswith("not-nfc: ") and "NFC" in reason


@pytest.mark.parametrize("where", ["top", "block", "disclosed"])
def test_receipt_with_an_unknown_field_is_invalid(sealed, key, where):
    receipt = json.loads(_receipt_bytes(sealed, {"document": "DOC-000002"}))
    {"top": receipt, "block": receipt["block"],
     "disclosed": receipt["disclosed"][0]}[where]["comment"] = "ok"
    ok, reason = verify_receipt(canonical(receipt), key.public())
    assert not ok and reason.startswith("unknown-field: ") and "'comment'" in reason


def _export(sealed, tmp_path):
    ledger, _ = sealed
    directory = tmp_path / "export"
    export(ledger.store, directory)
    return directory, directory / "blocks-000000.jsonl"


def _rewrite_line(path, index, change):
    lines = path.read_bytes().split(b"\n")
    lines[index] = change(lines[index])
    path.write_bytes(b"\n".join(lines))


def _problems(directory, key):
    report = audit_export(directory, [key.public()])
    return [(p.kind, p.height) for p in report.problems]


def test_genuine_export_is_sound(sealed, key, tmp_path):
    directory, _ = _export(sealed, tmp_path)
    assert _problems(directory, key) == []


def test_export_line_with_a_duplicated_actor(sealed, key, tmp_path):
    directory, path = _export(sealed, tmp_path)
    _rewrite_line(path, 1, lambda line: line.replace(b'"actor":"act-2"',
                                                     b'"actor":"intruder","actor":"act-2"'))
    assert _problems(directory, key) == [("duplicate-key", 1)]


@pytest.mark.parametrize("variant", [
    lambda doc: json.dumps(doc, sort_keys=True, ensure_ascii=False).encode(),  # whitespace
    lambda doc: json.dumps(dict(reversed(list(doc.items()))), separators=(",", ":"),
                           ensure_ascii=False).encode(),  # key order
    lambda doc: canonical(doc).replace(b'"act-2"', b'"\\u0061ct-2"'),  # an escape
    lambda doc: canonical(doc).replace("\u00eb".encode(), b"\\u00eb"),  # ensure_ascii's escape
    lambda doc: canonical(doc) + b"\r",  # a CRLF line end
], ids=["whitespace", "key-order", "escape", "ascii-escape", "crlf"])
def test_non_canonical_export_line_is_a_problem(sealed, key, tmp_path, variant):
    directory, path = _export(sealed, tmp_path)
    _rewrite_line(path, 1, lambda line: variant(json.loads(line)))
    assert _problems(directory, key) == [("not-canonical", 1)]


def test_export_line_with_an_unknown_field(sealed, key, tmp_path):
    directory, path = _export(sealed, tmp_path)
    _rewrite_line(path, 2, lambda line: canonical({**json.loads(line), "note": "ok"}))
    assert _problems(directory, key) == [("unknown-field", 2)]


def test_export_line_with_nfd_text_is_one_problem(sealed, key, tmp_path):
    directory, path = _export(sealed, tmp_path)
    _rewrite_line(path, 1, lambda line: line.replace(NFC.encode(), NFD.encode()))
    assert _problems(directory, key) == [("not-nfc", 1)]


def test_audit_of_a_stored_block_with_nfd_text(sealed, key):
    """The app's audit applies the same rule to the stored blocks (a respelled string is one
    problem: the chain still links and the checkpoint still matches)."""
    ledger, _ = sealed
    doc = ledger.store.get_block(1)
    doc["subject"]["record"] = NFD
    ledger.store.raw_put(doc)
    report = audit(ledger.store, verifiers=[key.public()])
    assert [(p.kind, p.height) for p in report.problems] == [("not-nfc", 1)]
    assert "subject.record" in report.problems[0].detail and report.checkpoints_checked == 1


@pytest.mark.parametrize("hint", [-1, 0, 1, 2, 3, 50, "x"])
def test_the_manifest_tip_hint_changes_nothing(sealed, key, tmp_path, hint):
    directory, _ = _export(sealed, tmp_path)
    before = audit_export(directory, [key.public()])
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["tip_hint"] = hint
    (directory / "manifest.json").write_text(json.dumps(manifest))
    after = audit_export(directory, [key.public()])
    assert after.ok and after.lines() == before.lines() and after.size == before.size == 3


def test_a_truncated_export_after_the_last_checkpoint_is_not_rescued_by_the_manifest(
        sealed, key, tmp_path):
    """Offline, truncation evidence is a signed checkpoint only (documented limit)."""
    ledger, _ = sealed
    ledger.append("record.read", {"record": "PAT-000001-R1", "version": 1}, "act-3", {}, {})
    directory, path = _export(sealed, tmp_path)
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:3]))
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["tip_hint"] = 3  # the height of the block cut off
    (directory / "manifest.json").write_text(json.dumps(manifest))
    assert manifest["blocks"] == 4 and _problems(directory, key) == []


def test_manifest_that_breaks_the_rule_is_a_problem(sealed, key, tmp_path):
    directory, _ = _export(sealed, tmp_path)
    text = (directory / "manifest.json").read_text()
    (directory / "manifest.json").write_text(text.replace('"blocks"', '"blocks": 1, "blocks"'))
    assert _problems(directory, key) == [("duplicate-key", None)]


@pytest.mark.parametrize("text, kind", [
    ('{"keys": [], "note": 1}', "unknown-field"),
    ('{"keys": [{"vkey": "%s", "from_size": 0, "to_size": null, "x": 1}]}', "unknown-field"),
    ('{"keys": [{"vkey": "%s", "from_size": 0, "from_size": 9, "to_size": null}]}',
     "duplicate-key"),
])
def test_trust_file_breaking_the_rule_is_refused(key, tmp_path, text, kind):
    path = tmp_path / "trust.json"
    path.write_text(text.replace("%s", str(key.public())))
    with pytest.raises(NoteError, match=f"trust file: {kind}: "):
        TrustFile.load(path)
    path.write_text('{"keys": [{"vkey": "%s", "from_size": 0, "to_size": null}]}'
                    % key.public())
    assert TrustFile.load(path).verifiers_for(5) == [key.public()]


def test_read_json_keeps_the_lenient_value_for_reporting():
    value, error = read_json(b'{"a": 1}', canonical_form=True)
    assert value == {"a": 1} and error.kind == "not-canonical"
    assert read_json(b'{"a":1}', canonical_form=True) == ({"a": 1}, None)


_text = st.lists(st.sampled_from(['a', 'Z', '"', '\\', '/', '\x00', '\x1f', '\x7f', '\u00e9',
                                  'e\u0301', '\ud800', '\U0001f600', '\ue000']),
                 max_size=4).map("".join)
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60), _text,
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(_text, inner, max_size=3)), max_leaves=8)
_dumps = st.sampled_from([
    lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")),
    lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
    lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False),
])


@settings(max_examples=150, deadline=None)
@given(_values, _dumps)
def test_a_canonical_line_is_exactly_canonical_bytes(value, dump):
    """read_json's shortcut for ASCII lines decides exactly as comparing with canonical()."""
    raw = dump(value).encode("utf-8", "surrogatepass")
    try:
        expected = raw == canonical(json.loads(raw.decode("utf-8", "surrogatepass")))
    except (CanonicalError, UnicodeDecodeError):
        expected = False
    assert (read_json(raw, canonical_form=True)[1] is None) == expected

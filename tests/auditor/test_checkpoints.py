"""Checkpoints: periodic and on demand, downloaded as C2SP notes, and held ones compared."""
import io
import json
import os
import re

import pytest
from ledger.block import block_hash, header_of
from ledger.notes import verify_checkpoint

from models.people import users
from models.sealing import checkpoint_log, checkpoints
from models.sealing import seam as ledger_service
from models.sealing import trust as ledger_trust
from models.storage.db import get_db
from tests.auditor_support import login


@pytest.fixture
def auditor(client, make_account):
    return login(client, make_account(users.AUDITOR))


def seal_many(app, count, start=0):
    with app.test_request_context():
        for i in range(start, start + count):
            ledger_service.seal("access.used", {"request": f"REQ-{i:06d}"}, None, {"n": i})


def stored(app):
    return sorted(doc["size"] for doc in get_db(app).ledger_checkpoints.find())


def test_checkpoints_are_written_every_n_blocks(app):
    app.config["CHECKPOINT_EVERY_BLOCKS"] = 5
    seal_many(app, 12)
    assert stored(app) == [5, 10]


def test_checkpoints_are_written_after_t_seconds(app):
    app.config["CHECKPOINT_EVERY_SECONDS"] = 60
    seal_many(app, 2)
    assert stored(app) == []
    policy = app.extensions["medledger"]["checkpoint_policy"]
    assert policy.every_seconds == 60
    started = policy._time
    policy.clock = lambda: started + 61
    seal_many(app, 1, start=2)
    assert stored(app) == [3]


def test_a_failing_periodic_checkpoint_does_not_fail_the_seal(app, monkeypatch, caplog):
    app.config["CHECKPOINT_EVERY_BLOCKS"] = 1

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr("ledger.chain.Ledger.checkpoint", broken)
    seal_many(app, 2)
    assert get_db(app).ledger_blocks.count_documents({}) == 2
    assert "periodic checkpoint failed" in caplog.text


def test_create_now_lists_and_downloads_a_c2sp_note(app, client, auditor):
    seal_many(app, 4)
    response = client.post("/auditor/checkpoints")
    assert response.status_code == 302
    assert stored(app) == [4]
    page = client.get("/auditor/checkpoints").get_data(as_text=True)
    link = re.search(r'href="(/auditor/checkpoints/4/[0-9a-f]{8}\.note)"', page).group(1)
    download = client.get(link)
    assert download.headers["Content-Disposition"] == "attachment; filename=checkpoint-4.note"
    note = download.get_data(as_text=True)
    origin, size, root, stamp, blank, signature = note.split("\n")[:6]
    assert (origin, size, blank) == (app.config["LEDGER_ORIGIN"], "4", "")
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", root) and stamp.startswith("timestamp ")
    assert signature.startswith("\u2014 " + ledger_trust.signing_key(app).name + " ")
    with app.app_context():
        cp, key = verify_checkpoint(note, ledger_trust.verifiers())
    assert cp.size == 4 and key == ledger_trust.signing_key(app).public()


def held_note(app):
    with app.app_context():
        return checkpoints.create(get_db())["note"]


def compare(client, note):
    return client.post("/auditor/checkpoints/compare", data={"note": note})


def verdict_of(response):
    match = re.search(r'data-testid="held-verdict" data-verdict="([a-z-]+)"',
                      response.get_data(as_text=True))
    return match.group(1) if match else None


def test_a_chain_that_grew_extends_the_held_checkpoint(app, client, auditor):
    seal_many(app, 6)
    note = held_note(app)
    seal_many(app, 5, start=6)
    response = compare(client, note)
    assert response.status_code == 200
    assert verdict_of(response) == "extends"
    assert b"The current chain extends it." in response.data


def test_an_uploaded_note_file_is_compared_too(app, client, auditor):
    seal_many(app, 3)
    note = held_note(app)
    response = client.post("/auditor/checkpoints/compare", content_type="multipart/form-data",
                           data={"note_file": (io.BytesIO(note.encode()), "held.note")})
    assert verdict_of(response) == "extends"


def test_an_altered_held_checkpoint_fails_its_signature(app, client, auditor):
    seal_many(app, 6)
    note = held_note(app).replace("\n6\n", "\n5\n", 1)
    response = compare(client, note)
    assert verdict_of(response) == "bad-signature"
    assert b"signature does not verify" in response.data


def test_a_truncated_chain_is_named_with_the_missing_heights(app, client, auditor):
    seal_many(app, 9)
    note = held_note(app)
    db = get_db(app)
    db.ledger_blocks.delete_many({"height": {"$gte": 6}})  # the tip hint still says 8
    response = compare(client, note)
    assert verdict_of(response) == "truncated"
    assert b"it has 6 blocks but the held checkpoint shows 9" in response.data
    overview = client.get("/auditor/")
    assert b'data-testid="chain-height">5<' in overview.data


def rewrite_from(db, height):
    """An insider's rewrite: change block `height` and re-hash it and every later block."""
    prev = None
    for h in range(height, db.ledger_blocks.count_documents({})):
        doc = db.ledger_blocks.find_one({"_id": h})
        if h == height:
            doc["actor"] = "act-forged"
        if prev is not None:
            doc["prev_hash"] = prev
        doc["hash"] = block_hash(header_of(doc)).hex()
        db.ledger_blocks.replace_one({"_id": h}, doc)
        prev = doc["hash"]


def test_a_rewritten_chain_is_located_after_the_last_matching_checkpoint(app, client, auditor):
    seal_many(app, 4)
    held_note(app)  # size 4, stored: still matches after the rewrite
    seal_many(app, 4, start=4)
    note = held_note(app)  # size 8, kept by the auditor
    seal_many(app, 2, start=8)
    rewrite_from(get_db(app), 5)
    response = compare(client, note)
    assert verdict_of(response) == "rewritten"
    assert b"rewritten since height 4" in response.data
    assert b"heights 4..7" in response.data


@pytest.mark.parametrize("data, message", [
    ({"note": ""}, b"Paste or upload a checkpoint note."),
    ({"note": "x" * 9000}, b"Field cannot be longer than"),
    ({"note_file": (io.BytesIO(b"\xff\xfe\x00bad"), "held.note")}, b"not UTF-8 text"),
])
def test_bad_held_checkpoints_are_refused_with_a_message(app, client, auditor, data, message):
    seal_many(app, 2)
    held_note(app)
    before = stored(app)
    response = client.post("/auditor/checkpoints/compare", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.data
    assert verdict_of(response) is None
    assert stored(app) == before


JUNK_NOTES = {
    "prose": "Hello, this is the checkpoint my colleague sent me",
    "a hash alone": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "body without signatures": "medledger.local/ledger\n6\nn4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=\n",
    "signature-like line only": "\u2014 medledger.local/ledger AAAAAAAAAA==\n",
    "shape of a note, junk body": "not\na\ncheckpoint\n\n\u2014 medledger.local/ledger AAECAwQFBgc=\n",
    "json": '{"size": 6, "root": "abc"}',
}


@pytest.mark.parametrize("junk", JUNK_NOTES.values(), ids=JUNK_NOTES.keys())
def test_junk_is_a_form_error_not_a_broken_chain(app, client, auditor, junk):
    seal_many(app, 6)
    held_note(app)
    before = stored(app)
    for data, content_type in (({"note": junk}, None),
                               ({"note_file": (io.BytesIO(junk.encode()), "held.note")},
                                "multipart/form-data")):
        response = client.post("/auditor/checkpoints/compare", data=data,
                               content_type=content_type)
        assert response.status_code == 400
        assert verdict_of(response) is None
        assert b"This is not a checkpoint note." in response.data
        assert b"does not extend it" not in response.data
    assert stored(app) == before


def test_a_well_formed_note_signed_by_another_key_still_gets_a_verdict(app, client, auditor):
    seal_many(app, 6)
    note = held_note(app)
    body, signature = note.split("\n\n")
    name, sig = signature.strip()[2:].split(" ")
    forged = body + "\n\n\u2014 " + name + " " + sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:] + "\n"
    response = compare(client, forged)
    assert response.status_code == 200
    assert verdict_of(response) == "bad-signature"


def test_checkpoint_list_pages_newest_first(app, client, auditor):
    app.config["CHECKPOINT_EVERY_BLOCKS"] = 1
    seal_many(app, 60)
    body = client.get("/auditor/checkpoints").get_data(as_text=True)
    sizes = [int(s) for s in re.findall(r'data-testid="checkpoint-row" data-size="(\d+)"', body)]
    assert sizes == list(range(60, 10, -1))
    older = re.search(r'href="(/auditor/checkpoints\?before=\d+)"', body).group(1)
    body = client.get(older).get_data(as_text=True)
    sizes = [int(s) for s in re.findall(r'data-testid="checkpoint-row" data-size="(\d+)"', body)]
    assert sizes == list(range(10, 0, -1))


def test_every_signed_checkpoint_is_kept_outside_the_database(app, runner):
    """Created now, periodically and at a key rotation: each goes to the log on the app host
    (0600, one JSON line each), and the log's last line is the latest."""
    app.config["CHECKPOINT_EVERY_BLOCKS"] = 3
    seal_many(app, 4)  # one periodic checkpoint at size 3
    with app.app_context():
        made = checkpoints.create(get_db())
    runner.invoke(args=["ledger", "rotate-key", "--yes"])
    path = checkpoint_log.path(app)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path) as handle:
        kept = [json.loads(line) for line in handle]
    assert [entry["size"] for entry in kept] == [3, 4, 5]
    assert kept[1]["note"] == made["note"]
    assert checkpoint_log.latest(app) == kept[-1]["note"]
    with open(path, "a") as handle:
        handle.write('{"size": 9, "note": "cut by a cra')  # a crash in the middle of a line
    assert checkpoint_log.latest(app) == kept[-1]["note"]

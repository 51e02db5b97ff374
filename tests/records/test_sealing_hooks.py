"""After-seal hooks run once the block is written: a failing one never undoes the event.

The day counter and the checkpoint cadence are hooks on the seam; if one raises after the
append, the record, its version history and its files must stay exactly as sealed (and the
counter is rebuilt by `flask ledger recount`).
"""
import pytest

from models.clinical import records
from models import startup
from models.sealing import activity, checkpoints, reconcile, seam
from models.storage.db import get_db
from tests.records.world import PDF, VALID, upload

NEW_VALUES = dict(VALID["imaging"], conclusion="Grade I")


@pytest.fixture
def broken_counter(app, monkeypatch):
    """The day counter fails after every append (as a full disk or a dropped link would)."""
    def broken(db, block):
        raise RuntimeError("the counter's collection is unavailable")
    monkeypatch.setattr(activity, "count_block", broken)


def _day_counts(app):
    return sum(doc["n"] for doc in get_db(app).ledger_daily.find())


def test_the_hooks_are_installed_on_the_app(app):
    """The day counter and the checkpoint cadence after each append, once each; the crash
    rehearsals only because this is a testing app."""
    hooks = seam.hooks(app)
    assert hooks.after_seal == [reconcile.crash_after_append_if_injected, activity.after_seal,
                                checkpoints.after_seal]
    assert hooks.before_append == [reconcile.crash_if_injected]
    startup.install_hooks(app)
    assert len(hooks.after_seal) == 3 and len(hooks.before_append) == 1


def test_a_production_app_has_no_crash_rehearsal(app):
    app.testing = False
    app.extensions["medledger"].pop("sealing_hooks")
    startup.install_hooks(app)
    assert seam.hooks(app).after_seal == [activity.after_seal, checkpoints.after_seal]
    assert seam.hooks(app).before_append == []


def test_a_failing_hook_keeps_a_new_record_its_files_and_its_block(app, world, broken_counter,
                                                                   caplog):
    doc = world.write(world.doctor, "imaging", uploads=[upload(PDF)])
    db = get_db(app)
    stored = db.records.find_one({"record_id": doc["record_id"], "version": 1})
    assert stored["sealed_height"] is not None and stored["status"] == records.FINAL
    block = db.ledger_blocks.find_one({"_id": stored["sealed_height"]})
    assert block["kind"] == records.CREATED
    assert block["subject"] == {"record": doc["record_id"], "version": 1}
    assert db["attachments.files"].count_documents({}) == 1
    assert "after-seal hook" in caplog.text and "failed" in caplog.text


def test_a_failing_hook_keeps_the_amendment_and_the_version_history(app, world,
                                                                    broken_counter):
    first = world.write(world.doctor, "imaging", uploads=[upload(PDF)])
    with app.app_context():
        second = records.amend(get_db(), world.key, author=world.doctor,
                               record_id=first["record_id"], version=1, raw=NEW_VALUES,
                               uploads=[upload(PDF, "second.pdf")],
                               max_bytes=app.config["MAX_ATTACHMENT_BYTES"])
    db = get_db(app)
    versions = {doc["version"]: doc for doc in db.records.find({"record_id": first["record_id"]})}
    assert versions[1]["status"] == records.AMENDED and versions[1]["superseded_by"] == 2
    assert versions[2]["status"] == records.FINAL and versions[2]["supersedes"] == 1
    assert versions[2]["sealed_height"] == second["sealed_height"] is not None
    assert [name["name"] for name in versions[2]["attachments"]] == ["scan.pdf", "second.pdf"]
    assert db["attachments.files"].count_documents({}) == 2
    assert db.ledger_blocks.find_one({"_id": second["sealed_height"]})["kind"] == \
        records.AMENDED_KIND


def test_recount_rebuilds_the_counter_a_failing_hook_missed(app, world, runner, monkeypatch):
    world.write(world.doctor, "note")
    counted = _day_counts(app)
    monkeypatch.setattr(activity, "count_block", lambda db, block: 1 / 0)
    world.write(world.doctor, "note")
    assert _day_counts(app) == counted  # the second block was not counted
    monkeypatch.undo()
    result = runner.invoke(args=["ledger", "recount"])
    assert result.exit_code == 0, result.output
    assert _day_counts(app) == get_db(app).ledger_blocks.count_documents({}) == counted + 1


def test_a_hook_raising_before_the_append_stops_the_event(app, world):
    """before_append is where a write may still be refused: no block, the version unsealed
    for reconcile (never a block without its document)."""
    def refuse(kind):
        raise RuntimeError("refused")
    seam.hooks(app).before_append.append(refuse)
    try:
        with pytest.raises(RuntimeError):
            world.write(world.doctor, "note")
    finally:
        seam.hooks(app).before_append.remove(refuse)
    db = get_db(app)
    assert db.ledger_blocks.count_documents({"kind": records.CREATED}) == 0
    assert db.records.count_documents({"sealed_height": None}) == 1


def test_a_read_whose_block_fails_answers_500_without_claiming_nothing_was_saved(
        app, world, client, monkeypatch):
    """The read's log entry is written before its block: the error page must not say that
    nothing was saved, and the entry waits, pending, for reconcile."""
    doc = world.write(world.doctor, "note")
    world.grant(world.colleague["human_id"])
    client.post("/login", data={"username": world.colleague["username"],
                                "password": "correct horse battery"})

    def broken(*args, **kwargs):
        raise RuntimeError("the ledger is unavailable")
    monkeypatch.setattr(seam, "seal", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get(f"/doctor/records/{doc['record_id']}/v1")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Nothing was saved" not in body and "may or may not have been saved" in body
    assert "marbleflux" not in body  # nothing decrypted for a read that was not sealed
    entry = get_db(app).record_reads.find_one({"record_id": doc["record_id"]})
    assert entry is not None and seam.is_pending(entry)

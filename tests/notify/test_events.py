"""Sealed changes become notifications for the people they concern, decided from the
documents; a change delivered twice (a retried hook, reconcile, replay) never doubles; a
failing notifier never fails the change; no notification holds a clinical value or a note."""
from datetime import timedelta

import pytest

from models.clinical import audit_trail, pharmacy, reading
from models.consent import emergency
from models.consent import workflow as consent
from models.notify import events, inbox, text
from models.people import users
from models.sealing import reconcile, seam
from models.storage.db import get_db
from tests.conftest import PASSWORD
from tests.records.world import SECRET

MESSAGE = "Query Zebrafinch relapse, see Quorvaxolin dose"
"""A request message and decision note full of clinical words: never in a notification."""


def notes(app, recipient=None, kind=None):
    query = {}
    if recipient:
        query["recipient"] = recipient
    if kind:
        query["kind"] = kind
    return sorted(get_db(app).notifications.find(query), key=lambda note: note["seq"])


def unread(app, account):
    with app.app_context():
        return inbox.unread_count(get_db(), account["human_id"])


def ask(world, requester, **terms):
    with world.app.app_context():
        return consent.request_access(
            get_db(), requester=requester, patient_id=world.patient["human_id"],
            scope_kind=terms.get("scope_kind", "all"), type_names=terms.get("types", ()),
            purpose="treatment", duration_days=terms.get("days", 30), one_time=False,
            message=MESSAGE)


def read(world, reader, doc):
    with world.app.app_context():
        return reading.read_version(get_db(), reader, doc["record_id"], doc["version"])


def assert_nothing_clinical(app):
    for note in get_db(app).notifications.find():
        flat = repr(note)
        for value in list(SECRET.values()) + ["Zebrafinch", "relapse", "Quorvaxolin"]:
            assert value not in flat, (value, note)


def test_a_request_tells_the_patient_who_asks_for_what(app, world):
    req = ask(world, world.doctor, scope_kind="types", types=["allergy", "lab_report"], days=30)
    [note] = notes(app, world.patient["human_id"])
    assert note["kind"] == text.REQUEST and note["about"]["request"] == req["request_id"]
    assert note["actor"]["id"] == world.doctor["human_id"]
    sentence = text.describe(note)
    assert "Dana Doctor" in sentence and "Allergy" in sentence and "30 days" in sentence
    assert notes(app, world.doctor["human_id"]) == []
    assert unread(app, world.patient) == 1
    assert_nothing_clinical(app)


def test_a_narrowed_approval_tells_the_doctor_what_changed(app, world):
    req = ask(world, world.doctor, scope_kind="types", types=["allergy", "lab_report"], days=30)
    world.approve(req["request_id"], scope={"kind": "types", "types": ["allergy"]},
                  duration_days=7)
    [note] = notes(app, world.doctor["human_id"])
    assert note["kind"] == text.DECISION and note["detail"]["state"] == consent.APPROVED
    assert note["detail"]["narrowed"] and note["detail"]["shortened"]
    sentence = text.describe(note)
    assert "narrowed to Allergy" in sentence and "7 days instead of the 30 asked" in sentence
    assert note["actor"] == {"id": world.patient["human_id"], "name": "Pat Patient",
                             "role": users.PATIENT}


def test_an_approval_as_asked_is_not_called_narrowed(app, world):
    req = ask(world, world.doctor, days=7)
    world.approve(req["request_id"])
    [note] = notes(app, world.doctor["human_id"])
    assert not note["detail"]["narrowed"] and not note["detail"]["shortened"]
    assert "narrowed" not in text.describe(note)


def test_an_organizations_request_is_answered_to_its_managers(app, world, make_account):
    second = make_account(users.ORG_MANAGER, "managerb2", name="Second Manager",
                          org_id=world.hospital_b["human_id"])
    gone = make_account(users.ORG_MANAGER, "managerb3", name="Gone Manager",
                        org_id=world.hospital_b["human_id"])
    with app.app_context():
        users.set_active(get_db(), gone["_id"], False)
    req = ask(world, world.manager_b)
    assert text.describe(notes(app, world.patient["human_id"])[0]).startswith(
        "Riverside Clinic (ORG-")
    with app.app_context():
        consent.reject(get_db(), patient=world.patient, request_id=req["request_id"],
                       note=MESSAGE)
    told = {note["recipient"] for note in notes(app, kind=text.DECISION)}
    assert told == {world.manager_b["human_id"], second["human_id"]}
    assert notes(app, world.manager["human_id"]) == []  # another organization's manager
    assert_nothing_clinical(app)


def test_a_rejection_and_a_withdrawal(app, world):
    first = ask(world, world.doctor)
    with app.app_context():
        consent.reject(get_db(), patient=world.patient, request_id=first["request_id"],
                       note=MESSAGE)
    [decision] = notes(app, world.doctor["human_id"])
    assert decision["detail"] == {"state": consent.REJECTED}
    assert "rejected your request" in text.describe(decision)
    second = ask(world, world.doctor)
    with app.app_context():
        consent.cancel(get_db(), user=world.doctor, request_id=second["request_id"])
    withdrawn = notes(app, world.patient["human_id"], text.WITHDRAWN)
    assert [note["about"]["request"] for note in withdrawn] == [second["request_id"]]
    assert_nothing_clinical(app)


def test_sharing_and_revoking_tell_the_grantee(app, world):
    grant = world.grant(world.outsider["human_id"], scope_kind="types", types=["allergy"])
    with app.app_context():
        consent.revoke(get_db(), patient=world.patient, grant_id=grant["grant_id"])
    kinds = [note["kind"] for note in notes(app, world.outsider["human_id"])]
    assert kinds == [text.GRANTED, text.REVOKED]
    assert notes(app, world.patient["human_id"]) == []  # the patient did it


def test_a_grant_to_an_organization_tells_its_managers(app, world):
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    assert [note["recipient"] for note in notes(app, kind=text.GRANTED)] == \
        [world.manager["human_id"]]


def test_twenty_reads_by_one_doctor_make_one_unread_notification(app, world):
    docs = [world.write(world.colleague, "diagnosis") for _ in range(20)]
    world.grant(world.doctor["human_id"])
    for doc in docs:
        read(world, world.doctor, doc)
    [note] = notes(app, world.patient["human_id"], text.READ)
    assert note["count"] == 20 and len(note["heights"]) == 20
    assert len(note["records"]) == inbox.MAX_LISTED_RECORDS
    assert note["records"][0]["record"] == docs[-1]["record_id"]  # the latest first
    assert "read your records 20 times" in text.describe(note)
    assert unread(app, world.patient) == 1
    assert_nothing_clinical(app)


def test_another_reader_and_a_read_after_marking_read_start_new_notifications(app, world):
    doc = world.write(world.colleague, "note")
    world.grant(world.doctor["human_id"])
    world.grant(world.outsider["human_id"])
    read(world, world.doctor, doc)
    read(world, world.outsider, doc)
    assert unread(app, world.patient) == 2
    first = notes(app, world.patient["human_id"], text.READ)[0]
    assert "read your record Clinical note" in text.describe(first)
    with app.app_context():
        inbox.mark_read(get_db(), world.patient["human_id"], first["_id"])
    read(world, world.doctor, doc)
    reads = notes(app, world.patient["human_id"], text.READ)
    assert [(note["actor"]["id"], note["count"]) for note in reads] == [
        (world.doctor["human_id"], 1), (world.outsider["human_id"], 1),
        (world.doctor["human_id"], 1)]
    assert unread(app, world.patient) == 2


def test_an_old_open_read_notification_is_not_extended(app, world):
    doc = world.write(world.colleague, "note")
    world.grant(world.doctor["human_id"])
    read(world, world.doctor, doc)
    old = get_db(app).notifications.find_one({"kind": text.READ})
    get_db(app).notifications.update_one(
        {"_id": old["_id"]},
        {"$set": {"at": old["at"] - timedelta(hours=app.config["NOTIFY_READ_GROUP_HOURS"] + 1)}})
    read(world, world.doctor, doc)
    reads = notes(app, world.patient["human_id"], text.READ)
    assert [note["count"] for note in reads] == [1, 1]
    assert "open_group" not in reads[0] and "open_group" in reads[1]


def test_a_read_notification_holds_at_most_max_group_reads(app, world, monkeypatch):
    monkeypatch.setattr(inbox, "MAX_GROUP", 3)
    doc = world.write(world.colleague, "note")
    world.grant(world.doctor["human_id"])
    for _ in range(4):
        read(world, world.doctor, doc)
    assert [note["count"] for note in notes(app, world.patient["human_id"], text.READ)] == [3, 1]


def test_the_patient_reading_their_own_records_is_not_notified(app, world):
    doc = world.write(world.doctor, "note")
    read(world, world.patient, doc)
    assert notes(app, world.patient["human_id"], text.READ) == []


def test_an_emergency_tells_the_patient_and_every_active_auditor(app, world, make_account):
    second = make_account(users.AUDITOR, "auditor2", name="Second Auditor")
    gone = make_account(users.AUDITOR, "auditor3", name="Gone Auditor")
    with app.app_context():
        users.set_active(get_db(), gone["_id"], False)
        case = emergency.open_emergency(get_db(), doctor=world.outsider,
                                        patient_id=world.patient["human_id"], password=PASSWORD,
                                        reason="Unconscious, Zebrafinch suspected", minutes=60)
    [told] = notes(app, world.patient["human_id"], text.EMERGENCY)
    assert told["about"]["emergency"] == case["emergency_id"]
    assert "opened emergency access to your records" in text.describe(told)
    reviewers = {note["recipient"] for note in notes(app, kind=text.EMERGENCY_REVIEW)}
    assert reviewers == {world.auditor["human_id"], second["human_id"]}
    assert_nothing_clinical(app)


def test_dispensing_tells_the_patient(app, world):
    rx = world.write(world.doctor, "prescription")
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    with app.app_context():
        pharmacy.dispense(get_db(), pharmacist=world.pharmacist, record_id=rx["record_id"],
                          version=1)
    [note] = notes(app, world.patient["human_id"], text.DISPENSED)
    assert note["about"]["record"] == rx["record_id"]
    assert text.describe(note, {world.pharmacy["human_id"]: "Corner Pharmacy"}) == (
        f"Paul Pharmacist ({world.pharmacist['human_id']}, Corner Pharmacy) dispensed your "
        f"prescription {rx['record_id']} v1.")
    assert_nothing_clinical(app)


def test_a_change_delivered_twice_is_notified_once(app, world):
    doc = world.write(world.colleague, "note")
    world.grant(world.doctor["human_id"])
    ask(world, world.outsider)
    read(world, world.doctor, doc)
    db = get_db(app)
    before = list(db.notifications.find())
    counters = list(db.notification_counters.find())
    entry = db.record_reads.find_one({})
    req = db.access_requests.find_one({})
    with app.app_context():
        for kind, found in ((audit_trail.READ_KIND, entry), (consent.REQUESTED, req)):
            block = db.ledger_blocks.find_one({"_id": found["sealed_height"]})
            assert events.on_change(kind, found, block) == []
    assert list(db.notifications.find()) == before
    assert list(db.notification_counters.find()) == counters


def test_replay_delivers_what_was_lost_and_nothing_twice(app, world, runner):
    doc = world.write(world.colleague, "note")
    world.grant(world.doctor["human_id"])
    ask(world, world.outsider)
    for _ in range(3):
        read(world, world.doctor, doc)
    db = get_db(app)
    expected = {(note["recipient"], note["kind"], note.get("count")) for note in db.notifications.find()}
    result = runner.invoke(args=["notify", "replay", "--from", "0"])
    assert result.exit_code == 0, result.output
    assert "0 notification(s) created" in result.output
    db.notifications.delete_many({})
    db.notification_counters.delete_many({})
    result = runner.invoke(args=["notify", "replay", "--from", "0"])
    assert result.exit_code == 0, result.output
    assert {(note["recipient"], note["kind"], note.get("count"))
            for note in db.notifications.find()} == expected
    assert unread(app, world.patient) == 2 and unread(app, world.doctor) == 1


def test_a_failing_notifier_never_fails_the_change(app, world, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the notifications collection is unavailable")
    monkeypatch.setattr(inbox, "deliver", broken)
    req = ask(world, world.doctor)
    stored = get_db(app).access_requests.find_one({"request_id": req["request_id"]})
    assert stored["sealed_height"] is not None and not seam.is_pending(stored)
    assert "after-change hook" in caplog.text and "failed" in caplog.text
    assert MESSAGE not in caplog.text


def test_reconcile_notifies_a_change_a_crash_cut_after_its_block(app, world, monkeypatch):
    """The block was appended, the crash came before its height was recorded: reconcile links
    it, and only then is the patient told (once)."""
    def crash(*args, **kwargs):
        raise RuntimeError("killed before recording the height")
    monkeypatch.setattr(seam, "record_height", crash)
    with pytest.raises(RuntimeError):
        ask(world, world.doctor)
    monkeypatch.undo()
    assert notes(app) == []
    with app.app_context():
        findings = reconcile.reconcile(get_db(), world.key, full=False, grace=0)
    assert [finding.action for finding in findings] == ["linked"]
    assert [note["kind"] for note in notes(app, world.patient["human_id"])] == [text.REQUEST]

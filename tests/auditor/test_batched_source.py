"""The audit reads the documents behind the blocks a window of heights at a time
(models/sealing/registry.py, prefetch). Batching may change how many queries an audit makes, never what it
finds: over a tampered history every window size gives exactly the problems of one lookup per
block, a window boundary loses nothing, and at most one window per kind is held."""
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from ledger.attributes import new_salt
from ledger.audit import AttributeSourceError

from models.care import admission_summaries, admissions, doctor_directory
from models.clinical import audit_trail, pharmacy, records
from models.consent import access, emergency
from models.consent import workflow as consent
from models.core.clock import now_ms
from models.exchange import export_log
from models.people import account_events, api_tokens, users, verification
from models.sealing import audit_jobs as ledger_audit
from models.sealing import registry as sealed
from models.sealing.seam import store_for
from models.storage import crypto
from models.storage.db import get_db
from tests.conftest import as_the_app
from tests.auditor_support import populate
from tests.auth import two_factor_support
from tests.care import support as care
from tests.research import drill as research
from tests.research import export_drill

UNBATCHED = 0
WINDOWS = (1, 2, 3, 5, 2000)


class CountingCollection:
    def __init__(self, counts, collection):
        self._counts, self._collection = counts, collection

    def find_one(self, *args, **kwargs):
        self._counts[(self._collection.name, "find_one")] += 1
        return self._collection.find_one(*args, **kwargs)

    def find(self, *args, **kwargs):
        self._counts[(self._collection.name, "find")] += 1
        return self._collection.find(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


class CountingDb:
    """The database as the rebuilds see it, counting each collection's lookups and queries."""

    def __init__(self, db):
        self._db, self.counts = db, Counter()

    def __getitem__(self, name):
        return CountingCollection(self.counts, self._db[name])

    def __getattr__(self, name):
        return self[name]

    def lookups(self):
        return sum(n for (_, method), n in self.counts.items() if method == "find_one")


def full_history(world):
    """populate() plus every other sealed event: entered in error, a cancelled and a dispensed
    prescription, a rejected and a cancelled request, an expired and a used grant, a review."""
    made = populate(world)
    app, key = world.app, world.key
    made["dispensed"] = world.write(world.doctor, "prescription")
    made["shared"] = world.grant(world.pharmacy["human_id"], scope_kind="types",
                                 types=["prescription"])
    with app.app_context():
        db = get_db()
        written = made["records"]
        made["in_error"] = records.mark_entered_in_error(
            db, user=world.doctor, record_id=written["allergy"]["record_id"], version=1,
            reason="Filed on the wrong chart")
        made["cancelled_rx"] = records.cancel_prescription(
            db, user=world.doctor, record_id=written["prescription"]["record_id"], version=1,
            reason="Changed the treatment")
        pharmacy.dispense(db, pharmacist=world.pharmacist,
                          record_id=made["dispensed"]["record_id"], version=1)
        asked = consent.request_access(
            db, requester=world.outsider, patient_id=world.other_patient["human_id"],
            scope_kind="all", purpose="treatment", duration_days=7, one_time=False,
            message="For the referral")
        made["rejected"] = consent.reject(db, patient=world.other_patient,
                                          request_id=asked["request_id"], note="Not now")
        asked = consent.request_access(
            db, requester=world.colleague, patient_id=world.patient["human_id"],
            scope_kind="all", purpose="treatment", duration_days=7, one_time=False,
            message="Second opinion")
        made["withdrawn"] = consent.cancel(db, user=world.colleague,
                                           request_id=asked["request_id"])
        past = now_ms() - timedelta(days=3)
        short = world.grant(world.outsider["human_id"], days=1, now=past)
        made["expired"] = consent.notice_expiry(db, short, now_ms())
        once = world.grant(world.colleague["human_id"], one_time=True)
        assert consent.use_once(db, once, world.colleague, written["general"]["record_id"],
                                now_ms())
        made["used"] = db.grants.find_one({"_id": once["_id"]})
        diagnosis = written["diagnosis"]
        made["read2"] = audit_trail.record_read(db, world.colleague, diagnosis,
                                                access.decide(db, world.colleague, diagnosis))
        made["reviewed"] = emergency.review(db, made["emergency"]["emergency_id"], world.auditor,
                                            False, "No emergency in the notes",
                                            now=made["emergency"]["ends_at"])
        account_events.disable_organization(db, world.lab["human_id"], world.admin)
        account_events.enable_organization(db, world.lab["human_id"], world.admin)
        account_events.disable_account(db, world.lab_tech["human_id"], world.admin)
        account_events.enable_account(db, world.lab_tech["human_id"], world.admin)
        account_events.reissue_setup_code(db, world.manager_b["human_id"], world.admin, rounds=4)
        kept, _ = api_tokens.create(db, world.patient, "kept script", expires_days=30)
        dropped, _ = api_tokens.create(db, world.doctor, "old laptop")
        made["tokens"] = (kept, api_tokens.revoke(db, world.doctor, dropped["token_id"]))
        desk = users.create_user(db, username="historydesk", role=users.FRONT_DESK,
                                 name="History Desk", password="correct horse battery", rounds=4,
                                 org_id=world.hospital_a["human_id"])
        made["desk"] = desk
        stay = admissions.admit(db, desk, patient_id=world.patient["human_id"], ward="North",
                                bed="1", reason="Chest pain", attending=world.doctor["human_id"],
                                zone=ZoneInfo("UTC"))
        for bed in ("2", "3", "4"):  # earlier movements keep their own heights
            stay = admissions.transfer(db, desk, stay["admission_id"], ward="South", bed=bed,
                                       zone=ZoneInfo("UTC"))
        stay = admissions.discharge(db, desk, stay["admission_id"], destination="home",
                                    zone=ZoneInfo("UTC"))
        wrong = admissions.admit(db, desk, patient_id=world.other_patient["human_id"],
                                 ward="North", bed="5", reason="Fever",
                                 attending=world.doctor["human_id"], zone=ZoneInfo("UTC"))
        admissions.mark_entered_in_error(db, desk, wrong["admission_id"], reason="Wrong chart")
        doctor_directory.update(db, editor=world.doctor, human_id=world.doctor["human_id"], raw={
            "department": "Ward 3", "phone": "+33 1 23 45 67 89",
            "windows": [("0", "22:00", "06:00")]})
        made["stay"], _ = admission_summaries.write_summary(
            db, key, world.doctor, stay["admission_id"], {"diagnosis": "Angina", "course": "Calm"},
            zone=ZoneInfo("UTC"), max_bytes=10**6)
        made["research"] = research.history(world, db)
        made["research_export"] = export_drill.history(world, db)
        made["fhir_export"] = export_log.seal_export(
            db, scope=world.patient["human_id"], patients=1, counts={"Patient": 1}, size=10,
            sha256="0" * 64, operator="history")
        made["two_factor"] = two_factor_support.history(db, key, world.admin,
                                                        world.lab["human_id"])
    appointment_history(world, made)
    return made


def appointment_history(world, made):
    """Every appointment kind: a schedule, bookings accepted, declined, cancelled, checked in
    and fulfilled, missed, entered in error; then request mode, a request and a proposed time."""
    care.publish(world)
    accepted = care.book(world, care.future_slot(3, 9))
    care.act(world, accepted, world.doctor, "accepted")
    care.act(world, care.book(world, care.future_slot(3, 10)), world.doctor, "declined")
    care.act(world, care.book(world, care.future_slot(3, 11)), world.patient, "cancelled")
    care.act(world, care.book(world, care.future_slot(3, 12)), world.doctor, "entered_in_error")
    for hour, end in ((9, "fulfilled"), (10, "noshow")):
        start = care.past_slot(1, hour)
        seen = care.book(world, start)
        care.act(world, seen, world.doctor, "accepted", now=start - timedelta(hours=1))
        if end == "fulfilled":
            care.act(world, seen, made["desk"], "arrived")
        care.act(world, seen, world.doctor, end)
    with world.app.app_context():
        manager = users.create_user(get_db(), username="historymanager", role=users.ORG_MANAGER,
                                    name="History Manager", password="correct horse battery",
                                    rounds=4, org_id=world.hospital_a["human_id"])
    asked = care.ask(world, manager)
    made["proposed"] = care.propose(world, asked, world.doctor)


def tamper(world, made):
    """An insider's edits of every kind, including ones the windows cannot hold (a deleted
    document, a moved or shared sealing height, a version that is no longer an int, a second
    read-log entry claiming the same block)."""
    key = world.key
    written = made["records"]
    with world.app.app_context():
        db = get_db()
        general = db.records.find_one({"_id": written["general"]["_id"]})
        payload = crypto.decrypt(key, general["record_id"], 1, general["box"])
        payload["data"]["weight_kg"] = "99.9"
        db.records.update_one({"_id": general["_id"]}, {"$set": {
            "box": crypto.encrypt(key, general["record_id"], 1, payload)}})
        dispensed = db.records.find_one({"_id": made["dispensed"]["_id"]})
        flipped = bytearray(dispensed["box"]["ciphertext"])
        flipped[3] ^= 0x01
        db.records.update_one({"_id": dispensed["_id"]}, {"$set": {
            "box.ciphertext": bytes(flipped), "dispense.pharmacy": "ORG-999999"}})
        db.records.delete_one({"_id": written["imaging"]["_id"]})
        db.records.update_one({"_id": written["diagnosis"]["_id"]}, {"$set": {
            "sealed_height": written["immunization"]["sealed_height"]}})
        db.records.update_one({"_id": written["lab_report"]["_id"]}, {"$set": {"version": True}})
        db.records.update_one({"_id": written["note"]["_id"]}, {"$set": {"sealed_height": "x"}})
        db.records.update_one({"_id": made["in_error"]["_id"]}, {"$set": {
            "error.reason": "Nothing was wrong"}})
        db.records.update_one({"_id": made["cancelled_rx"]["_id"]}, {"$set": {
            "rx_cancel.by": world.colleague["human_id"]}})
        db.grants.update_one({"_id": made["grant"]["_id"]}, {"$set": {"scope": {"kind": "all"}}})
        db.grants.update_one({"_id": made["expired"]["_id"]}, {"$set": {
            "seals.expired.salts.state": new_salt()}})
        db.grants.delete_one({"_id": made["used"]["_id"]})
        db.access_requests.update_one({"_id": made["request"]["_id"]}, {"$set": {
            "message": "Edited", "state": "pending"}})
        db.access_requests.update_one({"_id": made["rejected"]["_id"]}, {"$set": {
            "decision_note": "Edited"}})
        db.access_requests.update_one({"_id": made["withdrawn"]["_id"]}, {"$set": {
            "decided_by": world.patient["human_id"]}})
        db.emergencies.update_one({"_id": made["emergency"]["_id"]}, {"$set": {
            "reason": "Edited afterwards", "review.note": "Edited too"}})
        db.record_reads.update_one({"_id": made["read"]["_id"]}, {"$set": {"basis": "edited"}})
        copy = db.record_reads.find_one({"_id": made["read"]["_id"]})
        del copy["_id"]
        db.record_reads.insert_one(dict(copy, viewer_id=world.outsider["human_id"]))
        # An entry whose height became an array holding the block's height, stored ahead of
        # the real entry: the lookup by height may answer with either.
        second = db.record_reads.find_one({"_id": made["read2"]["_id"]})
        db.record_reads.delete_one({"_id": second["_id"]})
        widened = {name: value for name, value in second.items() if name != "_id"}
        db.record_reads.insert_one(dict(widened, viewer_id=world.outsider["human_id"],
                                        sealed_height=[second["sealed_height"], 10 ** 6]))
        db.record_reads.insert_one(second)
        db.users.update_one({"_id": world.outsider["_id"]}, {"$set": {
            "verification.licence.sha256": "0" * 64}})
        kept, revoked = made["tokens"]
        db.api_tokens.update_one({"_id": kept["_id"]}, {"$set": {"name": "Edited"}})
        db.api_tokens.update_one({"_id": revoked["_id"]}, {"$set": {
            "revoked_by": world.patient["human_id"]}})


def audit_problems(app, window):
    app.config["AUDIT_PREFETCH_WINDOW"] = window
    with app.app_context():
        report = ledger_audit.run_audit(get_db(), app)
    return [problem.to_dict() for problem in report.problems]


@pytest.mark.parametrize("backend", [
    "mongomock", pytest.param("embedded", marks=pytest.mark.integration)])
def test_batched_and_unbatched_audits_find_exactly_the_same_problems(backend, app,
                                                                     sealed_world):
    made = full_history(sealed_world)
    assert audit_problems(app, UNBATCHED) == [] == audit_problems(app, 2000)
    tamper(sealed_world, made)
    expected = audit_problems(app, UNBATCHED)
    found = {(p["kind"], p.get("height"), p.get("attribute")) for p in expected}
    written = made["records"]
    # The tampering is seen (the comparison below is not between two empty reports) ...
    assert ("attribute-mismatch", written["general"]["sealed_height"], "data.weight_kg") in found
    assert ("missing-document", written["imaging"]["sealed_height"], None) in found
    if backend == "embedded":  # mongomock's equality takes True for 1; MongoDB does not
        assert ("missing-document", written["lab_report"]["sealed_height"], None) in found
    assert ("unsealed-document", None, None) in found
    assert ("attribute-mismatch", made["grant"]["sealed_height"], "scope") in found
    assert ("attribute-mismatch", made["request"]["sealed_height"], "message") in found
    assert ("attribute-mismatch", made["approved"]["sealed_height"], "request_state") in found
    assert ("attribute-mismatch", made["emergency"]["sealed_height"], "reason") in found
    assert ("attribute-mismatch", made["read"]["sealed_height"], "basis") in found
    kept, revoked = made["tokens"]
    assert ("attribute-mismatch", kept["sealed_height"], "name") in found
    assert ("attribute-mismatch", revoked["seals"]["revoked"]["height"], "by") in found
    # The edits of deciding fields are also named by the documents' own authority codes.
    assert ("unauthenticated-document", None, "scope") in found
    assert ("unauthenticated-document", None, "state") in found  # the request set back
    assert {p["kind"] for p in expected} == {"attribute-mismatch", "missing-document",
                                             "unsealed-document", "unauthenticated-document"}
    # ... and every window size reports it identically, problem for problem.
    for window in WINDOWS:
        assert audit_problems(app, window) == expected, window


def blocks_of(app):
    with app.app_context():
        return list(store_for(get_db()).iter_blocks(0, None))


def test_an_untampered_audit_reads_windows_not_documents(app, sealed_world):
    full_history(sealed_world)
    blocks = blocks_of(app)
    kinds = {block["kind"] for block in blocks}
    assert kinds >= set(sealed.PREFETCH), sorted(set(sealed.PREFETCH) - kinds)
    with app.app_context():
        counting = CountingDb(get_db())
        source = ledger_audit.AttributeSource(counting, sealed_world.key, window=2000)
        assert all(source(block) is not None for block in blocks if block["kind"] in kinds
                   and block["kind"] in sealed.ATTRIBUTE_SOURCES)
    assert counting.lookups() == 0, counting.counts
    # One range query per prefetch companion used, and a few `$in` queries for the requests.
    used = {sealed.PREFETCH[block["kind"]] for block in blocks if block["kind"] in sealed.PREFETCH}
    ranges = sum(n for (_, method), n in counting.counts.items() if method == "find")
    assert len(used) <= ranges <= len(used) + 1


def test_passed_windows_are_dropped(app, sealed_world):
    """Memory stays flat: whatever the kinds, only windows reaching past the current height
    are held, each with fewer documents than its size."""
    full_history(sealed_world)
    blocks = [block for block in blocks_of(app) if block["kind"] in sealed.PREFETCH]
    with app.app_context():
        source = ledger_audit.AttributeSource(get_db(), sealed_world.key, window=3)
        held_most = 0
        for block in blocks:
            source(block)
            assert all(block["height"] < hi <= block["height"] + 3
                       for _, hi, _ in source.windows.values())
            assert all(len(held) < 3 for _, _, held in source.windows.values())
            held_most = max(held_most, len(source.windows))
    assert 1 < held_most <= 3


def test_one_lookup_per_block_without_a_window(app, sealed_world):
    full_history(sealed_world)
    blocks = [block for block in blocks_of(app) if block["kind"] in sealed.PREFETCH]
    with app.app_context():
        counting = CountingDb(get_db())
        source = ledger_audit.AttributeSource(counting, sealed_world.key, window=0)
        for block in blocks:
            source(block)
    assert counting.lookups() >= len(blocks)
    assert not any(method == "find" for _, method in counting.counts)


def ten_records(world):
    return [world.write(world.doctor, "general") for _ in range(10)]


@pytest.mark.parametrize("window", [1, 2, 3, 4, 9, 10, 11])
def test_a_window_boundary_loses_nothing(app, sealed_world, window):
    written = ten_records(sealed_world)
    heights = [doc["sealed_height"] for doc in written]
    assert heights == list(range(heights[0], heights[0] + 10))
    # Tamper with the last version of the first window and the first of the second one.
    edge = [written[window - 1], written[window]] if window < 10 else [written[-1]]
    with app.app_context():
        db = get_db()
        for doc in edge:
            db.records.update_one({"_id": doc["_id"]}, {"$set": {"author_role": "admin"}})
        counting = CountingDb(db)
        source = ledger_audit.AttributeSource(counting, sealed_world.key, window=window)
        mismatched = []
        for block in blocks_of(app):
            if block["kind"] != records.CREATED:
                continue
            attributes, _ = source(block)
            if attributes["author_role"] != sealed_world.doctor["role"]:
                mismatched.append(block["height"])
            # One window held: it covers this height, and this block's version left it.
            [(lo, hi, held)] = source.windows.values()
            assert lo <= block["height"] < hi == lo + window
            assert len(held) < window and block["height"] not in held
    assert mismatched == [doc["sealed_height"] for doc in edge]
    assert counting.lookups() == 0, counting.counts
    assert counting.counts[("records", "find")] == -(-10 // window)


def test_a_document_sealed_after_its_window_was_read_is_still_found(app, sealed_world):
    """A window is read when its first block is met; a version written later (the chain grew
    during the audit) is not in it, and its block falls back to its own lookup."""
    first = sealed_world.write(sealed_world.doctor, "general")
    with app.app_context():
        source = ledger_audit.AttributeSource(get_db(), sealed_world.key, window=2000)
        block = store_for(get_db()).get_block(first["sealed_height"])
        assert source(block) is not None
        later = sealed_world.write(sealed_world.doctor, "diagnosis")
        attributes, _ = source(store_for(get_db()).get_block(later["sealed_height"]))
    assert attributes["type"] == "diagnosis"
    assert later["sealed_height"] < first["sealed_height"] + 2000


def test_an_unreadable_window_falls_back_to_lookups(app, sealed_world, monkeypatch):
    written = ten_records(sealed_world)

    def broken(db, lo, hi):
        raise RuntimeError("the range query failed")

    for kind in (records.CREATED, records.AMENDED_KIND):
        monkeypatch.setitem(sealed.PREFETCH, kind, broken)
    with app.app_context():
        db = get_db()
        db.records.delete_one({"_id": written[4]["_id"]})
        source = ledger_audit.AttributeSource(db, sealed_world.key, window=2000)
        assert source(store_for(db).get_block(written[3]["sealed_height"])) is not None
        with pytest.raises(AttributeSourceError) as gone:
            source(store_for(db).get_block(written[4]["sealed_height"]))
    assert gone.value.kind == "missing-document"


def test_a_verification_reapproved_later_still_reads_as_before(app, sealed_world):
    """The window holds a doctor by their latest sealing height; an older account.verified
    block of the same doctor falls back and, as before, finds no document pointing at it."""
    doctor = sealed_world.doctor
    with app.app_context():
        db = get_db()
        old = db.users.find_one({"_id": doctor["_id"]})["verification"]["sealed_height"]
        as_the_app(app, "users", {"_id": doctor["_id"]}, {"$set": {"verification.state": "pending"}})
        new = verification.approve(db, doctor["human_id"], sealed_world.admin)
        source = ledger_audit.AttributeSource(db, sealed_world.key, window=2000)
        with pytest.raises(AttributeSourceError) as stale:
            source(store_for(db).get_block(old))
        assert source(store_for(db).get_block(new["verification"]["sealed_height"]))
    assert stale.value.kind == "missing-document"

"""Every sealed event can be rebuilt from the database, byte for byte.

Each kind this area seals is written, read back through BSON (mongomock, and the embedded
server on the integration tier) and rebuilt by its registered attribute source: the rebuilt
attributes encode (ledger.encoding.canonical) to the same bytes as those sealed, and their
leaf hashes are the block's. Direct edits of the database then show up as mismatches naming
the attribute.
"""
from datetime import timedelta

import pytest
from ledger.attributes import attribute_leaf_hashes, find_mismatches
from ledger.encoding import canonical

from models.clinical import audit_trail, pharmacy, records
from models.consent import emergency
from models.consent import workflow as consent
from models.sealing import registry as sealed
from models.sealing import seam
from models.storage import crypto
from models.storage.db import get_db
from tests.records.world import VALID, upload

TIERS = [pytest.param("mongomock", id="mongomock"),
         pytest.param("embedded", id="embedded", marks=pytest.mark.integration)]


@pytest.fixture
def sealed_log(monkeypatch):
    """What each block was sealed with, by height, captured at the seam to the ledger."""
    log = {}
    original = seam.seal

    def recording(kind, subject, actor, attributes, salts=None):
        block, used = original(kind, subject, actor, attributes, salts)
        log[block["height"]] = (kind, canonical(attributes))
        return block, used
    monkeypatch.setattr(seam, "seal", recording)
    return log


def _every_kind(world):
    """Write at least one event of every kind this area seals."""
    w = world
    db = get_db()
    for type_name in VALID:
        if type_name in ("lab_report", "patient_provided"):
            continue
        w.write(w.doctor, type_name)
    w.write(w.patient, "patient_provided", uploads=[upload()])
    w.grant(w.lab["human_id"], scope_kind=consent.TYPES, types=["lab_report"])
    lab = w.write(w.lab_tech, "lab_report", uploads=[upload()])
    note = w.write(w.doctor, "note")
    records.amend(db, w.key, author=w.doctor, record_id=note["record_id"], version=1,
                  raw=dict(VALID["note"], title="Amended"), max_bytes=10**6)
    allergy = w.write(w.doctor, "allergy")
    records.mark_entered_in_error(db, user=w.doctor, record_id=allergy["record_id"], version=1,
                                  reason="Wrong patient")
    approved = w.ask(w.colleague)
    grant = w.approve(approved["request_id"], duration_days=1)
    rejected = w.ask(w.outsider)
    consent.reject(db, patient=w.patient, request_id=rejected["request_id"], note="No thanks")
    cancelled = w.ask(w.doctor)
    consent.cancel(db, user=w.doctor, request_id=cancelled["request_id"])
    consent.revoke(db, patient=w.patient, grant_id=grant["grant_id"])
    short = w.grant(w.outsider["human_id"], days=1)
    consent.notice_expiry(db, short, short["valid_until"] + timedelta(seconds=1))
    once = w.grant(w.manager_b["org_id"], one_time=True)
    rx = w.write(w.doctor, "prescription")
    w.grant(w.pharmacy["human_id"], scope_kind=consent.TYPES, types=["prescription"])
    from models.consent import access
    decision = access.decide(db, w.pharmacist, rx)
    audit_trail.record_read(db, w.pharmacist, rx, decision)
    pharmacy.dispense(db, pharmacist=w.pharmacist, record_id=rx["record_id"], version=1)
    stopped = w.write(w.doctor, "prescription")
    records.cancel_prescription(db, user=w.doctor, record_id=stopped["record_id"], version=1,
                                reason="Interaction")
    assert access.decide(db, w.manager_b, lab).grant["grant_id"] == once["grant_id"]  # used up
    case = emergency.open_emergency(db, doctor=w.outsider, patient_id=w.patient["human_id"],
                                    password="correct horse battery",
                                    reason="Unconscious in the emergency room", minutes=60)
    emergency.review(db, case["emergency_id"], w.auditor, True, "Justified", now=case["ends_at"])


@pytest.mark.parametrize("tier", TIERS)
def test_every_sealed_event_rebuilds_to_the_same_bytes_and_leaves(world, sealed_log, tier):
    with world.app.app_context():
        _every_kind(world)
        db = get_db()
        blocks = sorted(db.ledger_blocks.find({}), key=lambda block: block["height"])
        kinds = {block["kind"] for block in blocks}
        assert kinds >= {"record.created", "record.amended", "record.entered_in_error",
                         "record.read", "record.dispensed", "record.prescription_cancelled",
                         "access.requested", "access.approved",
                         "access.rejected", "access.cancelled", "access.granted", "access.revoked",
                         "access.expired", "access.used", "emergency.access", "emergency.reviewed"}
        for block in blocks:
            source = sealed.ATTRIBUTE_SOURCES[block["kind"]]
            attributes, salts = source(db, block, world.key)
            kind, sealed_bytes = sealed_log[block["height"]]
            assert kind == block["kind"]
            assert canonical(attributes) == sealed_bytes, block["kind"]
            leaves = [leaf.hex() for leaf in attribute_leaf_hashes(attributes, salts)]
            assert leaves == block["attr_leaves"], block["kind"]


@pytest.mark.parametrize("tier", TIERS)
def test_every_document_is_covered_by_its_block(world, tier):
    with world.app.app_context():
        _every_kind(world)
        db = get_db()
        heights = {block["height"] for block in db.ledger_blocks.find({}, {"height": 1})}
        covered = [item for check in sealed.COVERAGE for item in check(db)]
        mine = [item for item in covered if item[0] in ("records", "access_requests", "grants",
                                                        "emergencies", "record_reads")]
        assert len(mine) >= 20
        assert all(height in heights for _, _, height in mine), [i for i in mine if i[2] not in heights]


def _rebuild(db, world, block):
    attributes, salts = sealed.ATTRIBUTE_SOURCES[block["kind"]](db, block, world.key)
    return find_mismatches(attributes, salts, [bytes.fromhex(h) for h in block["attr_leaves"]])


def test_direct_database_edits_are_named_by_the_rebuild(world):
    with world.app.app_context():
        db = get_db()
        note = world.write(world.doctor, "note")
        narrow = world.grant(world.doctor["human_id"], scope_kind=consent.TYPES, types=["allergy"])
        revoked = world.grant(world.colleague["human_id"])
        consent.revoke(db, patient=world.patient, grant_id=revoked["grant_id"])

        db.records.update_one({"_id": note["_id"]}, {"$set": {"author_id": world.colleague["human_id"]}})
        created = db.ledger_blocks.find_one({"_id": note["sealed_height"]})
        assert _rebuild(db, world, created) == ["author"]

        db.grants.update_one({"grant_id": narrow["grant_id"]}, {"$set": {"scope": {"kind": "all"}}})
        granted = db.ledger_blocks.find_one({"kind": "access.granted",
                                             "subject": {"grant": narrow["grant_id"]}})
        assert _rebuild(db, world, granted) == ["scope"]

        db.grants.update_one({"grant_id": revoked["grant_id"]}, {"$set": {"state": "approved"}})
        ended = db.ledger_blocks.find_one({"kind": "access.revoked"})
        assert _rebuild(db, world, ended) == ["state"]

        stored = db.records.find_one({"_id": note["_id"]})
        box = dict(stored["box"], tag=bytes(16))
        db.records.update_one({"_id": note["_id"]}, {"$set": {"box": box}})
        with pytest.raises(crypto.TamperedCiphertext):
            sealed.ATTRIBUTE_SOURCES["record.created"](db, created, world.key)

        db.records.delete_one({"_id": note["_id"]})
        assert sealed.ATTRIBUTE_SOURCES["record.created"](db, created, world.key) is None



@pytest.mark.parametrize("tier", TIERS)
def test_the_full_audit_finds_nothing_wrong_with_an_honest_history(world, tier):
    from models.sealing import audit_jobs as ledger_audit
    with world.app.app_context():
        _every_kind(world)
        report = ledger_audit.run_audit(get_db())
    # the fixture's doctors are verified directly, without an account.verified block
    assert [p for p in report.problems if not p.detail.startswith("users ")] == []
    assert report.blocks_checked >= 30

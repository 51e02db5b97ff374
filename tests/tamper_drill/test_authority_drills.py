"""An insider with full read/write access to MongoDB, but none to the app host's key files,
tries to gain access; the app refuses at once and the audit names what was changed.

These run against the app on the embedded server (integration tier): the forged documents are
written with the project's own hashing functions, exactly as an insider with this code and
the database (but not the authority key) could write them.
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt
from ledger.block import make_block, make_header
from ledger.chain import Ledger

from models.care import admission_summaries, admissions
from tests.care import support as care
from models.clinical import records
from models.consent import emergency
from models.consent import workflow as consent
from models.core import clock
from models.people import api_tokens, users
from models.research import consent as research_consent
from models.sealing import audit_jobs, checkpoints, seam
from models.storage import authority
from models.storage.db import get_db
from tests.auditor_support import login
from tests.auth.two_factor_support import enrolled_now
from tests.research import drill as research
from tests.research import export_drill

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def _forge_grant(app, world, grantee, patient):
    """A grant document and its `access.granted` block at the tip, built with the app's own
    functions, as an insider would: only the authority MAC is missing (no key)."""
    with app.test_request_context():
        db = get_db()
        now = clock.now_ms()
        grant = {"grant_id": "GRT-999999", "patient_id": patient["human_id"],
                 "grantee_kind": "doctor", "grantee_id": grantee["human_id"],
                 "grantee_name": grantee["name"], "grantee_org": grantee.get("org_id"),
                 "scope": {"kind": "all"}, "purpose": "treatment", "valid_from": now,
                 "valid_until": now + timedelta(days=30), "one_time": False,
                 "state": "approved", "request_id": None, "granted_by": patient["human_id"],
                 "created_at": now, "note": None, "ended_by": None, "ended_at": None,
                 "used_record": None, "sealed_height": None, "seals": {}}
        attributes = consent.grant_attributes(grant)
        salts = {name: new_salt() for name in attributes}
        store = seam.store_for(db)
        tip = Ledger(store).tip()
        leaves = attribute_leaf_hashes(attributes, salts)
        block = make_block(make_header(
            height=tip + 1, prev_hash=store.get_block(tip)["hash"], timestamp=now,
            kind=consent.GRANTED_KIND, subject={"grant": grant["grant_id"]},
            actor=patient["actor"], attr_root=attribute_root(leaves).hex(),
            attr_count=len(leaves)), leaves)
        store.insert_block(block)  # no `mac`: that needs the authority key
        grant.update(sealed_height=block["height"],
                     seals={"granted": {"height": block["height"], "salts": salts}})
        db.grants.insert_one(grant)
    return grant, block


def _read(client, doctor, record):
    login(client, doctor)
    return client.get(f"/doctor/records/{record['record_id']}/v1")


def test_a_forged_grant_with_its_block_at_the_tip_opens_nothing(app, client, runner,
                                                                sealed_world):
    world = sealed_world
    note = world.write(world.doctor, "note")
    grant, block = _forge_grant(app, world, world.outsider, world.patient)
    response = _read(client, world.outsider, note)
    assert response.status_code == 403
    assert b"marbleflux" not in response.data
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"unauthenticated-block height={block['height']} " in result.output
    assert f"unauthenticated-document height=- record={grant['grant_id']}" in result.output
    # No checkpoint signs it, and the auditor's overview raises the alarm.
    signed = runner.invoke(args=["ledger", "checkpoint"])
    assert signed.exit_code == 0, signed.output
    with app.app_context():
        latest = checkpoints.latest(get_db())
    assert latest["size"] == block["height"]
    auditor = app.test_client()
    login(auditor, world.auditor)
    overview = auditor.get("/auditor/").get_data(as_text=True)
    assert f'data-testid="ledger-alarm" data-height="{block["height"]}"' in overview


def test_a_widened_scope_is_refused_at_the_next_read(app, client, sealed_world):
    world = sealed_world
    allergy = world.write(world.doctor, "allergy")
    note = world.write(world.doctor, "note")
    grant = world.grant(world.outsider["human_id"], scope_kind=consent.TYPES, types=["allergy"])
    assert _read(client, world.outsider, allergy).status_code == 200
    get_db(app).grants.update_one({"_id": grant["_id"]}, {"$set": {"scope": {"kind": "all"}}})
    assert _read(client, world.outsider, note).status_code == 403
    assert _read(client, world.outsider, allergy).status_code == 403  # the grant is void now


def test_a_password_hash_the_attacker_knows_signs_nobody_in(app, client, sealed_world):
    world = sealed_world
    known = users.hash_password("attacker chosen pass", 4)
    get_db(app).users.update_one({"_id": world.patient["_id"]},
                                 {"$set": {"password_hash": known}})
    response = client.post("/login", data={"username": world.patient["username"],
                                           "password": "attacker chosen pass"})
    assert response.status_code != 302
    assert client.get("/patient/").status_code == 302  # still signed out


def test_an_open_session_ends_when_its_account_is_changed_outside_the_app(app, client,
                                                                          sealed_world):
    world = sealed_world
    login(client, world.outsider)
    assert client.get("/doctor/").status_code == 200
    get_db(app).users.update_one({"_id": world.outsider["_id"]}, {"$set": {"role": "admin"}})
    assert client.get("/admin/").status_code == 302  # signed out, not promoted
    assert client.get("/doctor/").status_code == 302


# Every protected collection, every deciding field -------------------------------------------

def _a_different(value):
    """Another value of the same shape (what an insider would write)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, str):
        return value + "X"
    if isinstance(value, dict):
        return dict(value, forged=True)
    if value is None:
        return "forged"
    if hasattr(value, "year"):
        return value.replace(year=value.year + 50)
    return "forged"


def _documents(app, world):
    """One document of each protected collection, and the decision it takes part in."""
    note = world.write(world.doctor, "note")
    grant = world.grant(world.colleague["human_id"])
    req = world.ask(world.outsider)
    with app.test_request_context():
        db = get_db()
        case = emergency.open_emergency(db, doctor=world.outsider,
                                        patient_id=world.other_patient["human_id"],
                                        password=PASSWORD, reason="Unconscious in the ward",
                                        minutes=60)
        desk = users.create_user(db, username="drilldesk", role=users.FRONT_DESK,
                                 name="Drill Desk", password=PASSWORD, rounds=4,
                                 org_id=world.hospital_a["human_id"])
        stay = admissions.admit(db, desk, patient_id=world.patient["human_id"], ward="North",
                                bed="1", reason="Chest pain", attending=world.doctor["human_id"],
                                zone=ZoneInfo("UTC"))
        stay = admissions.discharge(db, desk, stay["admission_id"], destination="home",
                                    zone=ZoneInfo("UTC"))
        stay, _ = admission_summaries.write_summary(  # every deciding field present
            db, world.key, world.doctor, stay["admission_id"], {"diagnosis": "Angina",
                                                                "course": "Calm"},
            zone=ZoneInfo("UTC"), max_bytes=10**6)
        mode = care.set_mode(world, world.manager, "direct")
        token, _ = api_tokens.create(db, world.patient, "drill script", expires_days=30)
        study = research.approved(world, db)
        choice = research_consent.join_study(db, patient=world.patient,
                                             study_id=study["study_id"])
        export = export_drill.create(world, db)()
        enrolled_now(db, world.key, desk)  # every deciding field present (seed, codes, step)
    schedule = care.publish(world)
    booked = care.book(world)
    with app.test_request_context():
        db = get_db()
        return {
            "appointments": db.appointments.find_one({"_id": booked["_id"]}),
            "studies": db.studies.find_one({"_id": study["_id"]}),
            "research_consents": db.research_consents.find_one({"_id": choice["_id"]}),
            "research_exports": db.research_exports.find_one({"_id": export["_id"]}),
            "schedules": db.schedules.find_one({"_id": schedule["_id"]}),
            "booking_settings": db.booking_settings.find_one({"_id": mode["_id"]}),
            "admissions": db.admissions.find_one({"_id": stay["_id"]}),
            "users": db.users.find_one({"_id": world.colleague["_id"]}),
            "two_factor": db.two_factor.find_one({"user_id": desk["human_id"]}),
            "organizations": db.organizations.find_one({"human_id": world.hospital_a["human_id"]}),
            "grants": db.grants.find_one({"_id": grant["_id"]}),
            "access_requests": db.access_requests.find_one({"_id": req["_id"]}),
            "emergencies": db.emergencies.find_one({"_id": case["_id"]}),
            "records": records.get_version(db, note["record_id"], 1),
            "api_tokens": db.api_tokens.find_one({"_id": token["_id"]}),
        }


def test_every_deciding_field_edited_in_the_database_is_refused_and_named(app, sealed_world):
    """Table-driven over authority.PROTECTED (what start-up registered): each deciding field
    of each protected collection, changed in the database, fails the document's check, the
    field is named, and the document is no longer honoured."""
    world = sealed_world
    docs = _documents(app, world)
    assert set(docs) == set(authority.PROTECTED)
    checked = 0
    with app.app_context():
        db = get_db()
        for collection, doc in docs.items():
            assert authority.verify(collection, doc) == []
            for field in authority.PROTECTED[collection].fields:
                value = authority._get(doc, field)
                forged = _a_different(None if value is authority._MISSING else value)
                db[collection].update_one({"_id": doc["_id"]}, {"$set": {field: forged}})
                stored = db[collection].find_one({"_id": doc["_id"]})
                assert authority.verify(collection, stored) == [field], (collection, field)
                assert authority.authentic(collection, stored) is None
                with pytest.raises(authority.Unauthentic):
                    authority.require(collection, stored)
                db[collection].replace_one({"_id": doc["_id"]}, doc)  # as the app wrote it
                checked += 1
    assert checked >= 50


def test_the_audit_names_every_forged_document(app, sealed_world):
    world = sealed_world
    docs = _documents(app, world)
    with app.app_context():
        db = get_db()
        for collection, doc in docs.items():
            field = authority.PROTECTED[collection].fields[-1]
            db[collection].update_one({"_id": doc["_id"]}, {"$set": {field: "forged"}})
        report = audit_jobs.run_audit(db, app)
    named = {(p.detail.split(" ", 1)[0], p.attribute) for p in report.problems
             if p.kind == "unauthenticated-document"}
    assert named == {(collection, authority.PROTECTED[collection].fields[-1])
                     for collection in docs}

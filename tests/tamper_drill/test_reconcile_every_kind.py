"""Every sealed kind, cut by a crash, is finished by reconcile: never left for a person.

For each kind the registry declares with a document, the change is made with the process
'dying' right before its block is appended (or right after, before the height is recorded);
reconcile then seals it (or links the block) and the full audit is sound. The table of actions
is checked against the registry, so a kind added tomorrow fails here until it has a row. The
two changes made of two writes (an approval, an amendment) are also cut between their writes:
reconcile rolls them back, and the person can simply do it again.
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from models import startup
from models.care import admission_summaries, admissions, doctor_directory, schedules
from models.clinical import pharmacy, reading, records
from models.consent import access, emergency
from models.exchange import export_log
from models.consent import workflow as consent
from models.people import (account_events, api_tokens, two_factor, two_factor_events, users,
                           verification)
from models.research import consent as research_consent
from models.research import studies
from models.sealing import audit_jobs, reconcile, registry, seam
from models.sealing.registry import PENDING
from models.storage.db import get_db
from tests.auth.two_factor_support import enrolled_now, next_code
from tests.care import support as care
from tests.records.world import VALID, upload
from tests.research import drill as research
from tests.research import export_drill
from tests.support_people import submit_pending

PASSWORD = "correct horse battery"


class Died(BaseException):
    """The process 'dies' (os._exit, patched): nothing after it runs."""


def _prescription_shared(w, db):
    rx = w.write(w.doctor, "prescription")
    w.grant(w.pharmacy["human_id"], scope_kind=consent.TYPES, types=["prescription"])
    return rx


def _emergency(w, db):
    return emergency.open_emergency(db, doctor=w.outsider, patient_id=w.patient["human_id"],
                                    password=PASSWORD, reason="Unconscious in the emergency room",
                                    minutes=60)


def _read(w, db):
    doc = w.write(w.doctor, "note")
    w.grant(w.colleague["human_id"])
    return lambda: reading.read_version(db, w.colleague, doc["record_id"], 1)


def _booked(w, db, start=None):
    """An appointment with the doctor, accepted (booked), at `start` (default: in 3 days)."""
    care.publish(w)
    start = start or care.future_slot()
    appt = care.book(w, start)
    return care.act(w, appt, w.doctor, "accepted", now=start - timedelta(hours=1))


def _requested(w, db):
    care.publish(w)
    manager = users.create_user(db, username="managera", role=users.ORG_MANAGER,
                                name="Ann Manager", password=PASSWORD, rounds=4,
                                org_id=w.hospital_a["human_id"])
    return care.ask(w, manager)


def _pending_doctor(w, db):
    doctor = users.create_user(db, username="newdoc", role=users.DOCTOR, name="New Doctor",
                               password=PASSWORD, rounds=4, org_id=w.hospital_a["human_id"])
    return submit_pending(w.app, doctor)


def _desk(w, db):
    return users.create_user(db, username="drilldesk", role=users.FRONT_DESK, name="Drill Desk",
                             password=PASSWORD, rounds=4, org_id=w.hospital_a["human_id"])


def _admit(w, db, desk):
    return admissions.admit(db, desk, patient_id=w.patient["human_id"], ward="North", bed="1",
                            reason="Chest pain", attending=w.doctor["human_id"],
                            zone=ZoneInfo("UTC"))


def _admitted(w, db):
    desk = _desk(w, db)
    return desk, _admit(w, db, desk)


def _discharged(w, db):
    desk, stay = _admitted(w, db)
    return admissions.discharge(db, desk, stay["admission_id"], destination="home",
                                zone=ZoneInfo("UTC"))


# kind -> fn(world, db) -> the action to cut (a callable), after any set-up it needs
ACTIONS = {
    "record.created": lambda w, db: lambda: w.write(w.doctor, "general"),
    "record.amended": lambda w, db: (lambda note: lambda: records.amend(
        db, w.key, author=w.doctor, record_id=note["record_id"], version=1,
        raw=dict(VALID["note"], title="Amended"), max_bytes=10**6))(w.write(w.doctor, "note")),
    "record.entered_in_error": lambda w, db: (lambda doc: lambda: records.mark_entered_in_error(
        db, user=w.doctor, record_id=doc["record_id"], version=1, reason="Wrong patient"))(
        w.write(w.doctor, "allergy")),
    "record.prescription_cancelled": lambda w, db: (lambda rx: lambda: records.cancel_prescription(
        db, user=w.doctor, record_id=rx["record_id"], version=1, reason="Interaction"))(
        w.write(w.doctor, "prescription")),
    "record.dispensed": lambda w, db: (lambda rx: lambda: pharmacy.dispense(
        db, pharmacist=w.pharmacist, record_id=rx["record_id"], version=1))(
        _prescription_shared(w, db)),
    "record.read": _read,
    "record.fhir_exported": lambda w, db: lambda: export_log.seal_export(
        db, scope=w.patient["human_id"], patients=1, counts={"Patient": 1}, size=10,
        sha256="0" * 64, operator="drill"),
    "access.requested": lambda w, db: lambda: w.ask(w.colleague),
    "access.approved": lambda w, db: (lambda req: lambda: w.approve(req["request_id"]))(
        w.ask(w.colleague)),
    "access.rejected": lambda w, db: (lambda req: lambda: consent.reject(
        db, patient=w.patient, request_id=req["request_id"], note="No"))(w.ask(w.colleague)),
    "access.cancelled": lambda w, db: (lambda req: lambda: consent.cancel(
        db, user=w.colleague, request_id=req["request_id"]))(w.ask(w.colleague)),
    "access.granted": lambda w, db: lambda: w.grant(w.colleague["human_id"]),
    "access.revoked": lambda w, db: (lambda grant: lambda: consent.revoke(
        db, patient=w.patient, grant_id=grant["grant_id"]))(w.grant(w.colleague["human_id"])),
    "access.expired": lambda w, db: (lambda grant: lambda: consent.notice_expiry(
        db, grant, grant["valid_until"] + timedelta(seconds=1)))(
        w.grant(w.colleague["human_id"], days=1)),
    "access.used": lambda w, db: (lambda doc, grant: lambda: access.decide(db, w.colleague, doc))(
        w.write(w.doctor, "note"), w.grant(w.colleague["human_id"], one_time=True)),
    "emergency.access": lambda w, db: lambda: _emergency(w, db),
    "emergency.reviewed": lambda w, db: (lambda case: lambda: emergency.review(
        db, case["emergency_id"], w.auditor, True, "Justified", now=case["ends_at"]))(_emergency(w, db)),
    "account.verified": lambda w, db: (lambda doctor: lambda: verification.approve(
        db, doctor["human_id"], w.admin))(_pending_doctor(w, db)),
    "account.enabled": lambda w, db: (lambda off: lambda: account_events.enable_account(
        db, off["human_id"], w.admin))(account_events.disable_account(db, w.colleague["human_id"], w.admin)),
    "organization.enabled": lambda w, db: (lambda off: lambda: account_events.enable_organization(
        db, off["human_id"], w.admin))(account_events.disable_organization(db, w.lab["human_id"], w.admin)[0]),
    "account.disabled": lambda w, db: lambda: account_events.disable_account(
        db, w.colleague["human_id"], w.admin),
    "organization.disabled": lambda w, db: lambda: account_events.disable_organization(
        db, w.lab["human_id"], w.admin),
    "account.setup_code_reissued": lambda w, db: lambda: account_events.reissue_setup_code(
        db, w.lab_tech["human_id"], w.admin, rounds=4),
    "account.api_token_created": lambda w, db: lambda: api_tokens.create(
        db, w.patient, "drill script", expires_days=30),
    "account.api_token_revoked": lambda w, db: (lambda made: lambda: api_tokens.revoke(
        db, w.patient, made[0]["token_id"]))(api_tokens.create(db, w.patient, "drill script")),
    "account.two_factor_enabled": lambda w, db: (lambda seed: lambda: two_factor_events.activate(
        db, w.key, w.patient, next_code(seed)))(two_factor.pending_secret(db, w.key, w.patient)),
    "account.two_factor_reset": lambda w, db: (enrolled_now(db, w.key, w.colleague), lambda: (
        two_factor_events.reset(db, w.admin, w.colleague["human_id"], "Lost phone")))[1],
    "account.recovery_code_used": lambda w, db: (lambda made: lambda: (
        two_factor_events.use_recovery_code(db, w.patient, made[1][0])))(
        enrolled_now(db, w.key, w.patient)),
    "account.recovery_codes_regenerated": lambda w, db: (lambda made: lambda: (
        two_factor_events.regenerate(db, w.key, w.patient, PASSWORD, next_code(made[0]))))(
        enrolled_now(db, w.key, w.patient)),
    "schedule.published": lambda w, db: lambda: schedules.publish(
        db, actor=w.manager_b, doctor_id=w.outsider["human_id"], slot_minutes=30,
        hours="Mon 09:00-12:00", leave="2030-01-01"),
    "schedule.booking_mode": lambda w, db: lambda: schedules.set_booking_mode(
        db, manager=w.manager_b, mode=schedules.REQUEST),
    "appointment.requested": lambda w, db: (care.publish(w), lambda: care.book(w))[1],
    "appointment.time_proposed": lambda w, db: (lambda appt: lambda: care.propose(
        w, appt, w.doctor))(_requested(w, db)),
    "appointment.accepted": lambda w, db: (care.publish(w), lambda: care.act(
        w, care.book(w), w.doctor, "accepted"))[1],
    "appointment.declined": lambda w, db: (lambda appt: lambda: care.act(
        w, appt, w.doctor, "declined", note="On leave"))(care.publish(w) and care.book(w)),
    "appointment.cancelled": lambda w, db: (lambda appt: lambda: care.act(
        w, appt, w.patient, "cancelled", note="Better now"))(_booked(w, db)),
    "appointment.arrived": lambda w, db: (lambda appt, desk: lambda: care.act(
        w, appt, desk, "arrived"))(_booked(w, db), _desk(w, db)),
    "appointment.fulfilled": lambda w, db: (lambda appt: lambda: care.act(
        w, appt, w.doctor, "fulfilled"))(care.act(w, _booked(w, db), _desk(w, db), "arrived")),
    "appointment.noshow": lambda w, db: (lambda appt: lambda: care.act(
        w, appt, w.doctor, "noshow"))(_booked(w, db, care.past_slot())),
    "appointment.entered_in_error": lambda w, db: (lambda appt: lambda: care.act(
        w, appt, w.doctor, "entered_in_error", note="Wrong patient"))(_booked(w, db)),
    "admission.admitted": lambda w, db: (lambda desk: lambda: _admit(w, db, desk))(_desk(w, db)),
    "admission.transferred": lambda w, db: (lambda desk, stay: lambda: admissions.transfer(
        db, desk, stay["admission_id"], ward="South", bed="2", zone=ZoneInfo("UTC")))(
        *_admitted(w, db)),
    "admission.discharged": lambda w, db: (lambda desk, stay: lambda: admissions.discharge(
        db, desk, stay["admission_id"], destination="home", zone=ZoneInfo("UTC")))(
        *_admitted(w, db)),
    "admission.entered_in_error": lambda w, db: (lambda desk, stay: lambda: (
        admissions.mark_entered_in_error(db, desk, stay["admission_id"], reason="Wrong patient")))(
        *_admitted(w, db)),
    "admission.summary_linked": lambda w, db: (lambda stay: lambda: admission_summaries.write_summary(
        db, w.key, w.doctor, stay["admission_id"], {"diagnosis": "Pneumonia", "course": "Better"},
        zone=ZoneInfo("UTC"), max_bytes=10**6))(_discharged(w, db)),
    "directory.updated": lambda w, db: lambda: doctor_directory.update(
        db, editor=w.doctor, human_id=w.doctor["human_id"], raw={
            "department": "Ward 3", "phone": "+33 1 23 45 67 89", "windows": [("0", "22:00", "06:00")]}),
    "research.study_registered": lambda w, db: lambda: research.study(w, db),
    "research.study_approved": lambda w, db: (lambda study: lambda: studies.approve(
        db, actor=w.admin, study_id=study["study_id"], reason="Ethics checked"))(
        research.study(w, db)),
    "research.study_rejected": lambda w, db: (lambda study: lambda: studies.reject(
        db, actor=w.admin, study_id=study["study_id"], reason="No approval"))(
        research.study(w, db)),
    "research.consent_changed": lambda w, db: lambda: research_consent.set_choice(
        db, patient=w.patient, choice=research_consent.ALL),
    "research.export_created": export_drill.create,
    "research.export_downloaded": export_drill.download,
}
KINDS_WITH_DOCUMENTS = sorted(ACTIONS)


@pytest.fixture
def dying(app, monkeypatch):
    def die(code):
        raise Died(code)
    monkeypatch.setattr(reconcile.os, "_exit", die)

    def cut(flag, kind, action):
        app.config[flag] = kind
        try:
            with pytest.raises(Died):
                action()
        finally:
            app.config[flag] = None
    return cut


def _pending(db):
    return [(collection, doc["_id"]) for collection in registry.pending_kinds()
            for doc in db[collection].find({f"{PENDING}.kind": {"$exists": True}})]


def _finish(app):
    with app.app_context():
        return reconcile.reconcile(get_db(), app.extensions["medledger"]["data_key"], grace=0)


def test_the_table_has_a_row_for_every_kind_with_a_document(app):
    assert KINDS_WITH_DOCUMENTS == sorted(kind for kinds in registry.pending_kinds().values()
                                          for kind in kinds)


@pytest.mark.parametrize("flag, action_taken", [
    (reconcile.FAULT_FLAG, "sealed"), (reconcile.FAULT_AFTER_APPEND, "linked")],
    ids=["before-append", "after-append"])
@pytest.mark.parametrize("kind", KINDS_WITH_DOCUMENTS)
def test_a_change_cut_by_a_crash_is_finished_by_reconcile(sealed_world, dying, kind, flag,
                                                          action_taken):
    world = sealed_world
    app = world.app
    with app.app_context():
        db = get_db()
        action = ACTIONS[kind](world, db)
        blocks = db.ledger_blocks.count_documents({"kind": kind})
        dying(flag, kind, action)
        appended = db.ledger_blocks.count_documents({"kind": kind}) - blocks
        assert appended == (1 if flag == reconcile.FAULT_AFTER_APPEND else 0)
        assert _pending(db), "the cut change carries its pending marker"
    findings = _finish(app)
    assert [(finding.action, finding.problem) for finding in findings] == \
        [(action_taken, "unsealed-document")], [finding.line() for finding in findings]
    assert not any(finding.for_a_person for finding in findings)
    with app.app_context():
        db = get_db()
        assert _pending(db) == []
        assert db.ledger_blocks.count_documents({"kind": kind}) == blocks + 1
        report = audit_jobs.run_audit(db, app)
    assert report.ok, [(p.kind, p.detail) for p in report.problems]
    assert _finish(app) == []


def test_an_approval_cut_before_the_request_names_its_grant_is_rolled_back(sealed_world, monkeypatch):
    world = sealed_world
    app = world.app
    req = world.ask(world.colleague)

    def dies(*args, **kwargs):
        raise Died(0)
    monkeypatch.setattr(consent, "_decide", dies)
    with pytest.raises(Died):
        world.approve(req["request_id"])
    monkeypatch.undo()
    with app.app_context():
        grant = get_db().grants.find_one({"request_id": req["request_id"]})
        assert grant is not None and seam.is_pending(grant)
        assert not consent.is_active(grant, grant["valid_from"])  # never in force
    findings = _finish(app)
    assert [finding.action for finding in findings] == ["rolled back"]
    with app.app_context():
        db = get_db()
        assert db.grants.count_documents({"request_id": req["request_id"]}) == 0
        assert db.access_requests.find_one({"_id": req["_id"]})["state"] == consent.PENDING
    grant = world.approve(req["request_id"])  # the patient simply approves again
    assert consent.is_active(grant, grant["valid_from"])
    with app.app_context():
        assert audit_jobs.run_audit(get_db(), app).ok


def test_an_amendment_cut_before_its_predecessor_is_claimed_is_rolled_back(sealed_world, monkeypatch):
    world = sealed_world
    app = world.app
    first = world.write(world.doctor, "imaging", uploads=[upload()])

    def dies(*args, **kwargs):
        raise Died(0)
    monkeypatch.setattr(records, "_claim_for_amendment", dies)
    with app.app_context(), pytest.raises(Died):
        records.amend(get_db(), world.key, author=world.doctor, record_id=first["record_id"],
                      version=1, raw=dict(VALID["imaging"], conclusion="Grade I"),
                      uploads=[upload(name="second.pdf")], max_bytes=10**6)
    monkeypatch.undo()
    with app.app_context():
        assert get_db()["attachments.files"].count_documents({}) == 2
    findings = _finish(app)
    assert [finding.action for finding in findings] == ["rolled back"]
    with app.app_context():
        db = get_db()
        assert [doc["version"] for doc in db.records.find({"record_id": first["record_id"]})] == [1]
        assert db.records.find_one({"_id": first["_id"]})["status"] == records.FINAL
        assert db["attachments.files"].count_documents({}) == 1  # the first version's file
        assert audit_jobs.run_audit(db, app).ok


def test_pending_authority_is_not_in_force(world, dying):
    """A grant or an emergency whose block is missing opens nothing until it is sealed."""
    note = world.write(world.doctor, "note")
    dying(reconcile.FAULT_FLAG, "access.granted", lambda: world.grant(world.colleague["human_id"]))
    with world.app.app_context():
        assert not access.decide(get_db(), world.colleague, note).allowed
    _finish(world.app)
    with world.app.app_context():
        assert access.decide(get_db(), world.colleague, note).allowed


def test_young_markers_are_left_to_their_request(world, dying):
    dying(reconcile.FAULT_FLAG, "record.created", lambda: world.write(world.doctor, "note"))
    with world.app.app_context():
        findings = reconcile.reconcile(get_db(), world.key, full=False,
                                       grace=reconcile.GRACE_SECONDS)
        assert findings == [] and _pending(get_db())


def test_the_app_reconciles_in_the_background_after_its_first_request(sealed_world, dying, client,
                                                                    monkeypatch):
    """A serving process schedules one bounded reconcile (never a `flask` command: it serves
    no request); once the grace has passed it finishes what a crash left pending."""
    app = sealed_world.app
    app.config["RECONCILE_AT_STARTUP"] = True
    startup.install(app)
    dying(reconcile.FAULT_FLAG, "record.created", lambda: sealed_world.write(
        sealed_world.doctor, "note"))
    assert "reconcile_timer" not in app.extensions["medledger"]
    client.get("/login")
    client.get("/login")
    timer = app.extensions["medledger"]["reconcile_timer"]
    timer.cancel()  # run it now instead of after the grace period
    assert timer.interval == reconcile.GRACE_SECONDS
    monkeypatch.setattr(reconcile, "GRACE_SECONDS", 0)
    findings = startup.reconcile_pending(app)
    assert [finding.action for finding in findings] == ["sealed"]
    with app.app_context():
        assert _pending(get_db()) == []

"""Admissions through HTTP and the model: the state machine (every step allowed and every
forbidden one, 409 with nothing changed), one patient per bed and one stay per patient and
hospital, the times a desk may type, and what the ledger keeps (no reason text)."""
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from models.care import admission_rules, admission_summaries, admissions
from models.clinical import records
from models.core import clock
from models.core.errors import Conflict, Forbidden, InvalidInput
from models.sealing import audit_jobs
from models.storage.db import get_db
from tests.auditor_support import sealed_world, verify_through_ledger  # noqa: F401
from tests.care.admission_world import SUMMARY, ward, world  # noqa: F401


def blocks(app, kind):
    return list(get_db(app).ledger_blocks.find({"kind": kind}))


def test_the_desk_admits_through_the_form(ward, client, auth):
    auth.login("desk")
    response = client.post("/admissions/admit", data={
        "patient_id": ward.w.patient["human_id"], "ward": " Cardio  North ", "bed": "12B",
        "attending": ward.w.doctor["human_id"], "reason": "Palpitations and Wobblethrum"})
    assert response.status_code == 302, response.data
    doc = get_db(ward.app).admissions.find_one({"patient_id": ward.w.patient["human_id"]})
    assert response.headers["Location"].endswith(f"/admissions/{doc['admission_id']}")
    assert (doc["status"], doc["ward"], doc["bed"], doc["attending"]) == \
        ("admitted", "Cardio North", "12B", ward.w.doctor["human_id"])
    [block] = blocks(ward.app, "admission.admitted")
    assert block["subject"] == {"admission": doc["admission_id"]}
    assert doc["sealed_height"] == block["height"] and not doc.get("pending_seals")
    assert b"Wobblethrum" not in repr(block).encode()  # no reason text on the chain
    assert doc["admitted"]["reason_sha256"] == admission_rules.reason_digest(doc["reason"])
    page = client.get(f"/admissions/{doc['admission_id']}")
    assert page.status_code == 200 and b"12B" in page.data
    assert b"Wobblethrum" not in page.data  # the desk does not read the reason back


def _admitted(ward):
    return ward.admit()


def _discharged(ward):
    return ward.discharge(ward.admit())


def _summarized(ward):
    return ward.summarize(_discharged(ward))[0]


def _in_error(ward):
    return ward.mark_in_error(ward.admit())


STATES = {"admitted": _admitted, "discharged": _discharged, "summarized": _summarized,
          "entered-in-error": _in_error}
STEPS = {
    "transfer": ("desk", "/admissions/{id}/transfer", {"ward": "East", "bed": "3"}),
    "discharge": ("desk", "/admissions/{id}/discharge", {"destination": "home"}),
    "summary": ("doctor", "/admissions/{id}/summary", SUMMARY),
    "error": ("desk", "/admissions/{id}/error", {"reason": "Wrong patient"}),
}
ALLOWED = {("admitted", "transfer"), ("admitted", "discharge"), ("admitted", "error"),
           ("discharged", "summary")}


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_step_from_every_state(ward, client, auth, state, step):
    doc = STATES[state](ward)
    username, url, data = STEPS[step]
    before, counts = ward.fresh(doc), ward.counts()
    auth.login(username)
    response = client.post(url.format(id=doc["admission_id"]), data=data)
    if (state, step) in ALLOWED:
        assert response.status_code == 302, response.data
        assert ward.fresh(doc) != before
    else:
        assert response.status_code == 409, response.data
        assert ward.fresh(doc) == before and ward.counts() == counts


def test_a_transfer_is_a_movement_and_moves_the_bed(ward):
    doc = ward.admit(ward="North", bed="1")
    moved = ward.transfer(doc, ward="South", bed="7")
    moved = ward.transfer(moved, ward="East", bed="2")
    assert (moved["ward"], moved["bed"]) == ("East", "2")
    assert moved["admitted"]["ward"] == "North"  # the admission itself is never edited
    assert [(m["from_ward"], m["ward"]) for m in moved["movements"]] == \
        [("North", "South"), ("South", "East")]
    transferred = blocks(ward.app, "admission.transferred")
    assert [b["subject"]["move"] for b in transferred] == [1, 2]
    assert moved["movements"][0]["height"] == transferred[0]["height"]
    # both freed beds take a new patient; the occupied one does not
    other = ward.admit(patient=ward.w.other_patient, ward="north", bed="1")
    other = ward.transfer(other, ward="South", bed="7")
    with pytest.raises(Conflict, match="taken"):
        ward.transfer(other, ward="east ", bed="2")  # the same bed, spelled otherwise
    with pytest.raises(InvalidInput) as refused:
        ward.transfer(moved, ward="EAST", bed="2")
    assert refused.value.field_errors == {"bed": "That is the bed the patient is in."}


def test_a_colon_in_a_ward_or_bed_name_makes_no_other_bed_collide(ward):
    ward.admit(ward="A:B", bed="C")
    ward.admit(patient=ward.w.other_patient, ward="A", bed="B:C")
    assert get_db(ward.app).admission_holds.count_documents({}) == 4


def test_one_patient_per_bed_and_one_stay_per_patient(ward):
    first = ward.admit(ward="North", bed="1")
    counts = ward.counts()
    with pytest.raises(Conflict, match="already in this hospital"):
        ward.admit(ward="North", bed="2")
    with pytest.raises(Conflict, match=r"Bed 1 of ward NORTH is taken \(ADN-"):
        ward.admit(patient=ward.w.other_patient, ward="NORTH", bed=" 1")
    assert ward.counts() == counts
    with pytest.raises(Conflict, match="taken"):
        other = ward.admit(patient=ward.w.other_patient, ward="South", bed="1")
        ward.transfer(other, ward="North", bed="1")
    # the same patient in another hospital is another stay
    ward.admit(desk=ward.desk_c, attending=ward.doctor_c, ward="North", bed="1")
    ward.discharge(first)
    again = ward.admit(ward="North", bed="1")
    assert again["admission_id"] != first["admission_id"]


def test_entered_in_error_frees_the_bed_and_keeps_the_stay(ward):
    doc = ward.admit(ward="North", bed="1")
    marked = ward.mark_in_error(doc, reason="Zorblax mix-up at the desk")
    assert marked["status"] == "entered-in-error" and marked["ward"] == "North"
    [block] = blocks(ward.app, "admission.entered_in_error")
    assert b"Zorblax" not in repr(block).encode()
    assert marked["seals"]["entered_in_error"]["height"] == block["height"]
    again = ward.admit(ward="North", bed="1")  # the same patient, the same bed: free again
    assert again["status"] == "admitted"
    with pytest.raises(InvalidInput) as refused:
        ward.mark_in_error(again, reason=" x ")
    assert "reason" in refused.value.field_errors


def test_a_hold_left_by_a_crash_is_taken_over(ward):
    db = get_db(ward.app)
    stale = clock.now_ms() - admissions.HOLD_GRACE - timedelta(seconds=1)
    org = ward.w.hospital_a["human_id"]
    patient_hold = admissions.patient_hold(org, ward.w.patient["human_id"])
    db.admission_holds.insert_one({"_id": admissions.bed_hold(org, "North", "1"),
                                   "admission": None, "at": stale})
    db.admission_holds.insert_one({"_id": patient_hold, "admission": None,
                                   "at": clock.now_ms()})
    with pytest.raises(Conflict):  # a young hold may belong to a request still running
        ward.admit(ward="North", bed="1")
    db.admission_holds.delete_one({"_id": patient_hold})
    assert ward.admit(ward="North", bed="1")["status"] == "admitted"


def test_an_old_hold_of_a_discharged_stay_is_taken_over_a_young_one_stands(ward):
    """A crash between the discharge and the release leaves the bed held: once the grace has
    passed the hold is seen to be stale; before it, it may be a move still in flight."""
    db = get_db(ward.app)
    doc = ward.discharge(ward.admit(ward="North", bed="1"))
    hold_id = admissions.bed_hold(ward.w.hospital_a["human_id"], "north", "1")
    db.admission_holds.insert_one({"_id": hold_id, "admission": doc["_id"],
                                   "at": clock.now_ms()})
    with pytest.raises(Conflict, match="taken"):
        ward.admit(patient=ward.w.other_patient, ward="North", bed="1")
    db.admission_holds.update_one({"_id": hold_id}, {"$set": {
        "at": clock.now_ms() - admissions.HOLD_GRACE - timedelta(seconds=1)}})
    again = ward.admit(patient=ward.w.other_patient, ward="North", bed="1")
    assert db.admission_holds.find_one({"_id": hold_id})["admission"] == again["_id"]


@pytest.mark.parametrize("at, problem", [
    ("2999-01-01 10:00", "future"), ("yesterday", "YYYY-MM-DD HH:MM"), ("2020-01-01 10:00", "today")])
def test_the_admission_time_is_now_or_earlier_today(ward, at, problem):
    counts = ward.counts()
    with pytest.raises(InvalidInput) as refused:
        ward.admit(at=at)
    assert problem in refused.value.field_errors["at"]
    assert ward.counts() == counts


def test_a_transfer_cannot_go_back_before_the_admission(ward):
    doc = ward.admit()
    earlier = (doc["admitted_at"] - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    with pytest.raises(InvalidInput) as refused:
        ward.transfer(doc, at=earlier)
    assert "before" in refused.value.field_errors["at"]


def test_the_attending_doctor_is_a_verified_doctor_of_the_hospital(ward, make_account):
    unverified = make_account("doctor", "newdoc", org_id=ward.w.hospital_a["human_id"],
                              verified=False)
    for doctor in (ward.w.outsider, ward.doctor_c, unverified, ward.desk):
        with pytest.raises(InvalidInput) as refused:
            ward.admit(attending=doctor)
        assert "verified doctor of this hospital" in refused.value.field_errors["attending"]


def test_only_a_hospitals_front_desk_admits(ward):
    for desk in (ward.desk_b, ward.w.doctor, ward.manager_a):
        with pytest.raises(Forbidden):
            ward.admit(desk=desk)
    doc = ward.admit()
    with pytest.raises(Exception, match="no such admission"):
        ward.discharge(doc, desk=ward.desk_c)


def test_the_summary_is_written_by_the_attending_doctor_prefilled(ward, client, auth):
    doc = ward.discharge(ward.admit())
    auth.login("colleague")
    assert client.get(f"/admissions/{doc['admission_id']}/summary").status_code == 403
    auth.logout()
    auth.login("doctor")
    listed = client.get("/admissions/summaries")
    assert doc["admission_id"].encode() in listed.data
    form = client.get(f"/admissions/{doc['admission_id']}/summary")
    assert form.status_code == 200 and b"Chest pain since morning" in form.data
    response = client.post(f"/admissions/{doc['admission_id']}/summary",
                           data=dict(SUMMARY, admission_id="ADN-999999"))
    assert response.status_code == 302, response.data
    linked = ward.fresh(doc)
    record = get_db(ward.app).records.find_one({"record_id": linked["summary"]["record_id"]})
    assert (record["type"], record["author_id"], record["patient_id"]) == \
        ("discharge_summary", ward.w.doctor["human_id"], ward.w.patient["human_id"])
    data = records.data_of(ward.w.key, record)
    assert data["admission_id"] == doc["admission_id"]  # taken from the admission, not the form
    assert data["discharged_on"] == doc["discharged_at"].date().isoformat()
    [block] = blocks(ward.app, "admission.summary_linked")
    assert linked["seals"]["summary_linked"]["height"] == block["height"]
    assert b'data-testid="summary-row"' not in client.get("/admissions/summaries").data


def test_every_admission_block_audits_as_sound(sealed_world, ward):
    verify_through_ledger(ward.app, ward.doctor_c, ward.w.admin)
    doc = ward.admit()
    doc = ward.transfer(doc)
    doc = ward.transfer(doc, ward="East", bed="9")
    doc = ward.transfer(doc, ward="West", bed="4")
    ward.summarize(ward.discharge(doc))
    ward.mark_in_error(ward.admit(patient=ward.w.other_patient, bed="8"))
    ward.admit(patient=ward.w.other_patient)
    with ward.app.app_context():
        report = audit_jobs.run_audit(get_db(), ward.app)
    assert report.ok, [(p.kind, p.detail) for p in report.problems]
    db = get_db(ward.app)
    db.admissions.update_one({"_id": doc["_id"]}, {"$set": {"movements.0.ward": "Roof"}})
    with ward.app.app_context():
        report = audit_jobs.run_audit(get_db(), ward.app)
    assert {p.kind for p in report.problems} == {"attribute-mismatch"}


def test_a_typed_time_is_the_installations_wall_clock(ward, client, auth):
    ward.app.config["TIMEZONE"] = "Asia/Kolkata"
    zone = ZoneInfo("Asia/Kolkata")
    local = (clock.now().astimezone(zone) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    if local.date() != clock.now().astimezone(zone).date():
        pytest.skip("a minute after local midnight: 'earlier today' has no minute to type")
    auth.login("desk")
    response = client.post("/admissions/admit", data={
        "patient_id": ward.w.patient["human_id"], "ward": "North", "bed": "1",
        "attending": ward.w.doctor["human_id"], "reason": "Fever",
        "at": local.strftime("%Y-%m-%d %H:%M")}, follow_redirects=True)
    assert response.status_code == 200
    doc = get_db(ward.app).admissions.find_one({})
    assert doc["admitted_at"] == local.astimezone(timezone.utc)
    assert local.strftime("%Y-%m-%d %H:%M IST") in response.get_data(as_text=True)


def test_the_history_is_read_a_week_at_a_time(ward, client, auth):
    recent = ward.admit()
    old = ward.admit(patient=ward.w.other_patient, bed="2")
    long_ago = clock.now_ms() - timedelta(days=10)
    get_db(ward.app).admissions.update_one({"_id": old["_id"]},
                                           {"$set": {"admitted_at": long_ago}})
    auth.login("managera")
    page = client.get("/admissions/history").data
    assert recent["admission_id"].encode() in page and old["admission_id"].encode() not in page
    week = (long_ago - timedelta(days=2)).date().isoformat()
    page = client.get(f"/admissions/history?from={week}").data
    assert old["admission_id"].encode() in page and recent["admission_id"].encode() not in page
    for bad in ("yesterday", "2024-02-30", "2024-1-1", "9" * 40):
        assert client.get(f"/admissions/history?from={bad}").status_code == 400


def test_an_admission_changed_in_the_database_decides_nothing(ward, client, auth):
    """An insider moving a stay to another hospital or doctor (without the authority key):
    the admission fails its check everywhere, and nothing is done with it."""
    doc = ward.admit()
    get_db(ward.app).admissions.update_one({"_id": doc["_id"]},
                                           {"$set": {"attending": ward.w.colleague["human_id"]}})
    auth.login("colleague")
    assert client.get(f"/admissions/{doc['admission_id']}").status_code == 403
    assert doc["admission_id"].encode() not in client.get("/admissions/inpatients").data
    assert doc["admission_id"].encode() not in client.get("/admissions/board").data
    auth.logout()
    auth.login("desk")
    before = ward.fresh(doc)
    assert client.post(f"/admissions/{doc['admission_id']}/discharge",
                       data={"destination": "home"}).status_code == 403
    assert ward.fresh(doc) == before


def test_a_summary_whose_link_a_crash_cut_is_amended_not_written_twice(ward, monkeypatch):
    doc = ward.discharge(ward.admit())

    def crash(*args, **kwargs):
        raise RuntimeError("the process died")
    monkeypatch.setattr(admission_summaries, "link_summary", crash)
    with pytest.raises(RuntimeError):
        ward.summarize(doc)
    monkeypatch.undo()
    [orphan] = get_db(ward.app).records.find({"type": "discharge_summary"})
    assert ward.fresh(doc)["summary"] is None
    linked, record = ward.summarize(doc, raw=dict(SUMMARY, diagnosis="Lobar pneumonia"))
    assert (record["record_id"], record["version"]) == (orphan["record_id"], 2)
    assert linked["summary"]["record_id"] == orphan["record_id"]
    assert records.data_of(ward.w.key, record)["diagnosis"] == "Lobar pneumonia"
    other = ward.discharge(ward.admit(patient=ward.w.patient, bed="5"))
    _, second = ward.summarize(other)  # another stay of the same patient: a record of its own
    assert second["record_id"] != orphan["record_id"]

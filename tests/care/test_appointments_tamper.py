"""Tamper drills: an insider edits appointments, schedules or the booking mode directly in
MongoDB (no authority key). The app refuses the changed document at once (it decides
nothing) and the audit names the field, on the document and on the sealed block."""
from datetime import timedelta

import pytest

from models.care import appointments, holds, schedules
from models.core.errors import NotFound
from models.sealing import audit_jobs, reconcile
from models.storage.db import get_db
from tests.care.support import act, book, future_slot, publish, set_mode


def _problems(world):
    with world.app.app_context():
        report = audit_jobs.run_audit(get_db(), world.app)
    return {(problem.kind, problem.attribute) for problem in report.problems}


@pytest.fixture
def booked(sealed_world):
    world = sealed_world
    publish(world)
    start = future_slot(hour=15)
    appt = act(world, book(world, start), world.doctor, "accepted",
               now=start - timedelta(hours=1))
    assert _problems(world) == set()
    return world, appt


def _raw(world, collection, query, update):
    get_db(world.app)[collection].update_one(query, update)


def test_an_appointment_moved_to_another_time(booked):
    world, appt = booked
    later = appt["start"] + timedelta(days=1)
    _raw(world, "appointments", {"_id": appt["_id"]}, {"$set": {
        "start": later, "end": later + timedelta(minutes=30), "history.0.start": later}})
    with world.app.app_context(), pytest.raises(NotFound):
        appointments.for_actor(get_db(), world.patient, appt["appointment_id"])
    assert _problems(world) == {("unauthenticated-document", "start"),
                                ("attribute-mismatch", "start")}


def test_an_appointment_given_to_another_patient(booked):
    world, appt = booked
    _raw(world, "appointments", {"_id": appt["_id"]},
         {"$set": {"patient_id": world.other_patient["human_id"]}})
    with world.app.app_context(), pytest.raises(NotFound):
        appointments.for_actor(get_db(), world.other_patient, appt["appointment_id"])
    assert ("unauthenticated-document", "patient_id") in _problems(world)
    assert ("attribute-mismatch", "patient") in _problems(world)


def test_a_status_flipped_without_a_transition(booked):
    world, appt = booked
    _raw(world, "appointments", {"_id": appt["_id"]}, {"$set": {"status": "fulfilled"}})
    with world.app.app_context(), pytest.raises(NotFound):
        appointments.act(get_db(), actor=world.doctor, appointment_id=appt["appointment_id"],
                         action="noshow")
    assert _problems(world) == {("unauthenticated-document", "status")}


def test_a_reason_rewritten(booked):
    world, appt = booked
    _raw(world, "appointments", {"_id": appt["_id"]}, {"$set": {"history.0.note": "Other"}})
    assert _problems(world) == {("attribute-mismatch", "note_sha256")}


def test_schedule_hours_widened(booked):
    world, _ = booked
    _raw(world, "schedules", {"doctor_id": world.doctor["human_id"]},
         {"$set": {"hours": schedules.parse_hours("Sun 00:00-23:00")}})
    with world.app.app_context():
        assert schedules.current(get_db(), world.doctor["human_id"]) is None  # decides nothing
    assert _problems(world) == {("unauthenticated-document", "hours"),
                                ("attribute-mismatch", "hours_sha256")}


def test_booking_mode_switched(sealed_world, manager_a):
    world = sealed_world
    set_mode(world, manager_a, schedules.REQUEST)
    _raw(world, "booking_settings", {}, {"$set": {"mode": schedules.DIRECT}})
    with world.app.app_context():  # fails closed: requests only
        assert schedules.booking_mode(get_db(), manager_a["org_id"]) == schedules.REQUEST
    assert _problems(world) == {("unauthenticated-document", "mode"),
                                ("attribute-mismatch", "mode")}


class Died(BaseException):
    """The process 'dies' between the booking's document and its holds."""


def test_a_booking_cut_before_its_holds_is_rolled_back_and_the_time_stays_free(
        sealed_world, monkeypatch):
    world = sealed_world
    publish(world)
    start = future_slot(hour=16)

    def dies(*args, **kwargs):
        raise Died()
    monkeypatch.setattr(holds, "hold", dies)
    with pytest.raises(Died):
        book(world, start)
    monkeypatch.undo()
    assert world.count("appointments") == 1 and world.count("slot_holds") == 0
    with world.app.app_context():
        findings = reconcile.reconcile(get_db(), world.key, grace=0)
    assert [finding.action for finding in findings] == ["rolled back"]
    assert world.count("appointments") == 0
    assert book(world, start, patient=world.other_patient)["start"] == start
    assert _problems(world) == set()

"""The appointment model: booking holds the time atomically, each transition is sealed and
kept in the history, releases free the time, and the audit stays sound."""
from datetime import timedelta

import pytest

from models.care import appointments, schedules
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.sealing import audit_jobs
from models.storage.db import get_db
from models.core.clock import now_ms
from models.people import users
from tests.care.support import (UTC, act, ask, book, fresh, future_slot, propose, publish,
                                set_mode)


def _free(world, start):
    with world.app.app_context():
        day = start.date()
        return start in [slot[0] for slot in schedules.free_slots(
            get_db(), world.doctor["human_id"], day, day + timedelta(days=1), UTC,
            start - timedelta(days=1))]


def test_a_booking_holds_its_cells_and_a_second_one_is_refused(world):
    publish(world)
    start = future_slot()
    appt = book(world, start)
    assert (appt["status"], appt["participants"]) == (
        appointments.PROPOSED, {"patient": "accepted", "doctor": "needs-action"})
    assert world.count("slot_holds", {"appointment_id": appt["appointment_id"]}) == 6
    assert not _free(world, start)
    with pytest.raises(Conflict, match="just taken"):
        book(world, start, patient=world.other_patient)
    assert world.count("appointments") == 1 and world.count("slot_holds") == 6


def test_slot_lengths_that_overlap_cannot_double_book(world):
    """A 60-minute schedule published over a booked 30-minute slot: the overlapping hour is
    refused; cells make any two overlapping times clash whatever their lengths."""
    publish(world, slot=30)
    book(world, future_slot(hour=9, minute=30))
    publish(world, slot=60)
    with pytest.raises(Conflict):
        book(world, future_slot(hour=9), patient=world.other_patient)
    book(world, future_slot(hour=10), patient=world.other_patient)


def test_only_offered_future_times_and_a_reason_are_accepted(world):
    publish(world)
    for start in (future_slot(hour=9, minute=10), future_slot(hour=20), None):
        with pytest.raises(InvalidInput) as caught:
            book(world, start) if start else appointments_book_without_time(world)
        assert "start" in caught.value.field_errors
    with pytest.raises(InvalidInput) as caught:
        book(world, reason=" x ")
    assert "reason" in caught.value.field_errors
    assert world.count("appointments") == 0 and world.count("slot_holds") == 0


def appointments_book_without_time(world):
    with world.app.app_context():
        return appointments.book(get_db(), patient=world.patient,
                                 doctor_id=world.doctor["human_id"], start=None,
                                 reason="Headaches", zone=UTC)


def test_the_whole_direct_flow_is_sealed_and_audits_sound(sealed_world, make_account):
    world = sealed_world
    desk = make_account(users.FRONT_DESK, "deskx", org_id=world.hospital_a["human_id"])
    publish(world)
    start = future_slot(hour=11)
    appt = book(world, start)
    act(world, appt, world.doctor, "accepted")
    act(world, appt, desk, "arrived")
    done = act(world, appt, world.doctor, "fulfilled")
    assert done["status"] == appointments.FULFILLED
    assert [entry["action"] for entry in done["history"]] == [
        "requested", "accepted", "arrived", "fulfilled"]
    with world.app.app_context():
        db = get_db()
        kinds = [block["kind"] for block in db.ledger_blocks.find(
            {"kind": {"$regex": "^appointment"}})]
        assert kinds == ["appointment.requested", "appointment.accepted", "appointment.arrived",
                         "appointment.fulfilled"]
        block = db.ledger_blocks.find_one({"kind": "appointment.requested"})
        assert "Recurring headaches" not in str(block)  # the reason is hashed, never sealed
        assert audit_jobs.run_audit(db, world.app).ok


def test_cancelling_frees_the_time_and_needs_a_reason(world):
    publish(world)
    start = future_slot()
    appt = book(world, start)
    with pytest.raises(InvalidInput):
        act(world, appt, world.patient, "cancelled", note="")
    act(world, appt, world.patient, "cancelled", note="Feeling better")
    assert world.count("slot_holds") == 0 and _free(world, start)
    assert fresh(world, appt)["status"] == appointments.CANCELLED


def test_request_mode_time_proposed_then_accepted(world, manager_a):
    publish(world)
    set_mode(world, manager_a, schedules.REQUEST)
    with pytest.raises(Conflict):
        book(world)  # the organization takes requests only
    appt = ask(world, manager_a)
    assert appt["start"] is None and appt["status"] == appointments.PROPOSED
    with pytest.raises(Conflict):
        act(world, appt, world.doctor, "accepted")  # no time yet
    timed = propose(world, appt, world.doctor)
    assert timed["participants"] == {"patient": "needs-action", "doctor": "accepted"}
    assert world.count("slot_holds", {"appointment_id": appt["appointment_id"]}) == 6
    with pytest.raises(Conflict):
        propose(world, appt, world.doctor, future_slot(5))  # it has a time already
    assert act(world, appt, world.patient, "accepted")["status"] == appointments.BOOKED


def test_others_get_not_found_and_wrong_parties_forbidden(world, desk):
    publish(world)
    appt = book(world)
    for stranger in (world.other_patient, world.colleague, world.outsider, desk[1],
                     world.manager_b, world.admin):
        with pytest.raises(NotFound):
            act(world, appt, stranger, "accepted")
    with pytest.raises(Forbidden):
        act(world, appt, desk[0], "fulfilled")
    assert fresh(world, appt)["history"] == appt["history"]


def test_a_stale_hold_left_by_a_crash_is_cleared_by_the_next_booking(world):
    publish(world)
    start = future_slot()
    with world.app.app_context():
        get_db().slot_holds.insert_one({"doctor_id": world.doctor["human_id"], "cell": start,
                                        "appointment_id": "APT-999999",
                                        "at": now_ms() - timedelta(hours=1)})
    assert book(world, start)["start"] == start


def test_a_young_hold_is_never_taken_for_stale(world):
    """Within reconcile's grace a hold may belong to a booking still running: it stands."""
    publish(world)
    start = future_slot()
    with world.app.app_context():
        get_db().slot_holds.insert_one({"doctor_id": world.doctor["human_id"], "cell": start,
                                        "appointment_id": "APT-999999", "at": now_ms()})
    with pytest.raises(Conflict):
        book(world, start)
    assert world.count("slot_holds", {"appointment_id": "APT-999999"}) == 1

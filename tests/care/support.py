"""Helpers of the appointment tests: a published schedule (every day, in UTC) and
appointments brought into each state through the models, at times chosen by the test."""
from datetime import date, datetime, timedelta, timezone

from models.care import appointments, schedules
from models.core.clock import now_ms
from models.storage.db import get_db

UTC = timezone.utc
EVERY_DAY = "\n".join(f"{day} 08:00-18:00" for day in schedules.WEEKDAYS)
ALL_DAY = "\n".join(f"{day} 00:00-24:00" for day in schedules.WEEKDAYS)


def publish(world, doctor=None, hours=EVERY_DAY, slot=30):
    doctor = doctor or world.doctor
    with world.app.app_context():
        return schedules.publish(get_db(), actor=doctor, doctor_id=doctor["human_id"],
                                 slot_minutes=slot, hours=hours)


def future_slot(days=3, hour=9, minute=0):
    day = date.today() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def past_slot(days=1, hour=9):
    return future_slot(-days, hour)


def book(world, start=None, patient=None, doctor=None, reason="Recurring headaches", now=None):
    """A direct booking (proposed, the doctor to accept). A start in the past is booked as if
    it were made the day before it."""
    start = start or future_slot()
    now = now or min(now_ms(), start - timedelta(days=1))
    with world.app.app_context():
        return appointments.book(get_db(), patient=patient or world.patient,
                                 doctor_id=(doctor or world.doctor)["human_id"], start=start,
                                 reason=reason, zone=UTC, now=now)


def act(world, appt, actor, action, note="Because of a clash", now=None):
    with world.app.app_context():
        return appointments.act(get_db(), actor=actor, appointment_id=appt["appointment_id"],
                                action=action, note=note, now=now)


def set_mode(world, manager, mode):
    with world.app.app_context():
        return schedules.set_booking_mode(get_db(), manager=manager, mode=mode)


def ask(world, manager, patient=None, reason="Knee pain when running"):
    """A request-mode request (the organization switched to requests by `manager`)."""
    with world.app.app_context():
        db = get_db()
        if schedules.booking_mode(db, manager["org_id"]) != schedules.REQUEST:
            schedules.set_booking_mode(db, manager=manager, mode=schedules.REQUEST)
        return appointments.request(db, patient=patient or world.patient,
                                    doctor_id=world.doctor["human_id"], reason=reason,
                                    preferred_days="Tuesday mornings")


def propose(world, appt, actor, start=None):
    with world.app.app_context():
        return appointments.propose_time(get_db(), actor=actor,
                                         appointment_id=appt["appointment_id"],
                                         start=start or future_slot(4), zone=UTC)


def fresh(world, appt):
    return world.find_one("appointments", {"_id": appt["_id"]})

"""Schedules: parsing what a doctor types, versions sealed as `schedule.published`, who may
publish, and the free slots derived from them (leave, past times, held time, DST)."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from models.care import schedules
from models.core.errors import Conflict, InvalidInput, NotFound
from models.sealing import audit_jobs
from models.storage.db import get_db

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2030, 1, 7)


def publish(world, actor=None, doctor=None, slot=30, hours="Mon 09:00-12:00", leave=""):
    with world.app.app_context():
        return schedules.publish(get_db(), actor=actor or world.doctor,
                                 doctor_id=(doctor or world.doctor)["human_id"],
                                 slot_minutes=slot, hours=hours, leave=leave)


def slots(world, first, last, zone=UTC, now=None, doctor=None):
    with world.app.app_context():
        return schedules.free_slots(get_db(), (doctor or world.doctor)["human_id"], first, last,
                                    zone, now or datetime(2029, 1, 1, tzinfo=UTC))


def test_hours_and_leave_parse_into_sorted_periods():
    assert schedules.parse_hours("tue 14:00-16:30\nMonday 09:00 - 12:00\nMon 13:00-14:00") == [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "14:00"},
        {"weekday": 1, "start": "14:00", "end": "16:30"}]
    assert schedules.parse_leave("2030-01-09\n2030-02-01 to 2030-02-03") == [
        {"first": "2030-01-09", "last": "2030-01-09"},
        {"first": "2030-02-01", "last": "2030-02-03"}]


@pytest.mark.parametrize("field, text", [
    ("hours", ""), ("hours", "Funday 09:00-10:00"), ("hours", "Mon 10:00-09:00"),
    ("hours", "Mon 09:03-10:00"), ("hours", "Mon 25:00-26:00"),
    ("hours", "Mon 09:00-11:00\nMon 10:00-12:00"), ("leave", "2030-02-30"),
    ("leave", "2030-02-03 to 2030-02-01"), ("leave", "next week")])
def test_bad_hours_or_leave_name_the_field(field, text):
    parse = schedules.parse_hours if field == "hours" else schedules.parse_leave
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert field in caught.value.field_errors


def test_each_publish_is_a_new_sealed_version(sealed_world):
    world = sealed_world
    first = publish(world)
    second = publish(world, slot=20, hours="Mon 09:00-10:00", leave="2030-01-14")
    assert (first["version"], second["version"]) == (1, 2)
    with world.app.app_context():
        db = get_db()
        assert db.schedules.count_documents({"doctor_id": world.doctor["human_id"]}) == 2
        assert schedules.current(db, world.doctor["human_id"])["slot_minutes"] == 20
        blocks = list(db.ledger_blocks.find({"kind": schedules.PUBLISHED_KIND}))
        assert [block["subject"] for block in blocks] == [
            {"doctor": world.doctor["human_id"], "version": 1},
            {"doctor": world.doctor["human_id"], "version": 2}]
        assert audit_jobs.run_audit(db, world.app).ok


def test_a_manager_publishes_for_their_own_doctors_only(world, manager_a):
    assert publish(world, actor=manager_a)["published_by"] == manager_a["human_id"]
    with pytest.raises(NotFound):
        publish(world, actor=manager_a, doctor=world.outsider)
    with pytest.raises(NotFound):
        publish(world, actor=world.colleague)  # another doctor, same hospital
    with pytest.raises(NotFound):
        publish(world, actor=world.manager_b)


def test_a_slot_longer_than_a_period_is_refused(world):
    with pytest.raises(InvalidInput) as caught:
        publish(world, slot=60, hours="Mon 09:00-09:30")
    assert "hours" in caught.value.field_errors
    with pytest.raises(InvalidInput) as caught:
        publish(world, slot=7)
    assert "slot_minutes" in caught.value.field_errors
    assert world.count("schedules") == 0


def test_free_slots_leave_out_leave_past_times_and_held_time(world):
    publish(world, slot=60, hours="Mon 09:00-12:00\nWed 09:00-10:00", leave="2030-01-09")
    week = slots(world, MONDAY, MONDAY + timedelta(days=7))
    assert [start.isoformat() for start, _ in week] == [
        "2030-01-07T09:00:00+00:00", "2030-01-07T10:00:00+00:00", "2030-01-07T11:00:00+00:00"]
    later = slots(world, MONDAY, MONDAY + timedelta(days=1),
                  now=datetime(2030, 1, 7, 10, 0, tzinfo=UTC))
    assert [start.hour for start, _ in later] == [11]
    with world.app.app_context():  # a 15-minute hold inside the 10:00 slot takes all of it
        get_db().slot_holds.insert_one({"doctor_id": world.doctor["human_id"],
                                        "cell": datetime(2030, 1, 7, 10, 30, tzinfo=UTC),
                                        "appointment_id": "APT-X"})
    assert [start.hour for start, _ in slots(world, MONDAY, MONDAY + timedelta(days=1))] == [9, 11]
    assert slots(world, MONDAY, MONDAY + timedelta(days=1), doctor=world.colleague) == []


def test_wall_clock_hours_survive_daylight_saving_changes(world):
    publish(world, slot=30, hours="Sun 02:00-03:30\nMon 09:00-10:00")
    # Paris skips 02:00-03:00 on 2030-03-31 and repeats it on 2030-10-27.
    spring = slots(world, date(2030, 3, 31), date(2030, 4, 2), PARIS)
    assert [(s.astimezone(PARIS).strftime("%a %H:%M"), s.hour) for s, _ in spring] == [
        ("Sun 03:00", 1), ("Mon 09:00", 7), ("Mon 09:30", 7)]
    autumn = slots(world, date(2030, 10, 27), date(2030, 10, 29), PARIS)
    assert [s.astimezone(PARIS).strftime("%a %H:%M") for s, _ in autumn] == [
        "Sun 02:00", "Sun 02:30", "Sun 03:00", "Mon 09:00", "Mon 09:30"]
    assert autumn[-1][0].hour == 8  # 09:30 CET is 08:30 UTC after the change
    with pytest.raises(InvalidInput):
        slots(world, date(2030, 1, 1), date(2030, 3, 1))


def test_booking_mode_is_versioned_and_sealed(sealed_world, manager_a):
    world = sealed_world
    with world.app.app_context():
        db = get_db()
        org = world.hospital_a["human_id"]
        assert schedules.booking_mode(db, org) == schedules.DIRECT
        schedules.set_booking_mode(db, manager=manager_a, mode=schedules.REQUEST)
        assert schedules.booking_mode(db, org) == schedules.REQUEST
        with pytest.raises(Conflict):
            schedules.set_booking_mode(db, manager=manager_a, mode=schedules.REQUEST)
        with pytest.raises(InvalidInput):
            schedules.set_booking_mode(db, manager=manager_a, mode="lottery")
        assert db.ledger_blocks.count_documents({"kind": schedules.MODE_KIND}) == 1
        assert audit_jobs.run_audit(db, world.app).ok

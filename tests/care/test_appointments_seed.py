"""Bulk demo appointments for benchmarks: sealed like real ones (the audit is sound), their
time held, the state machine still in force on them, and a second run adds only what is
missing."""
from datetime import timedelta, timezone

from models.care import appointment_seed, appointments, schedules
from models.core.clock import now_ms
from models.people import users
from models.sealing import audit_jobs
from models.storage.db import get_db


def _seed(world, desk, count):
    with world.app.app_context():
        db = get_db()
        return appointment_seed.seed(
            db, doctors=[world.doctor, world.colleague, world.outsider],
            patients=[world.patient, world.other_patient],
            desks={world.hospital_a["human_id"]: desk[0], world.hospital_b["human_id"]: desk[1]},
            count=count, zone=timezone.utc)


def test_seeded_appointments_audit_sound_and_hold_their_time(sealed_world, desk):
    world = sealed_world
    assert _seed(world, desk, 60) == 60
    assert _seed(world, desk, 60) == 0  # a second run: nothing new
    assert _seed(world, desk, 80) == 20
    with world.app.app_context():
        db = get_db()
        found = list(db.appointments.find({}))
        assert len(found) == 80 and db.schedules.count_documents({}) == 3
        statuses = {appt["status"] for appt in found}
        assert {"fulfilled", "booked"} <= statuses
        live = [appt for appt in found if appt["status"] not in appointments.RELEASED]
        assert db.slot_holds.count_documents({}) == 6 * len(live)
        report = audit_jobs.run_audit(db, world.app)
        assert report.ok, [(p.kind, p.detail) for p in report.problems][:5]
        future = next(appt for appt in live if appt["status"] == "booked"
                      and appt["doctor_id"] == world.doctor["human_id"]
                      and appt["start"].replace(tzinfo=timezone.utc) > now_ms())
        start = future["start"].replace(tzinfo=timezone.utc)
        day = start.date()
        free = schedules.free_slots(db, world.doctor["human_id"], day, day + timedelta(days=1),
                                    timezone.utc, now_ms())
        assert start not in [slot[0] for slot in free]
        patient = users.by_human_id(db, future["patient_id"])
        cancelled = appointments.act(db, actor=patient, appointment_id=future["appointment_id"],
                                     action="cancelled", note="Seeded, then cancelled")
        assert cancelled["status"] == appointments.CANCELLED
        free = schedules.free_slots(db, world.doctor["human_id"], day, day + timedelta(days=1),
                                    timezone.utc, now_ms())
        assert start in [slot[0] for slot in free]  # the seeded time is free again


def test_seed_demo_books_appointments_once(app, runner):
    args = ["seed-demo", "--patients", "6", "--doctors", "2", "--records", "0",
            "--appointments", "30"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Created 30 demo appointments (of 30 asked for)." in first.output
    db = get_db(app)
    assert db.appointments.count_documents({}) == 30 and db.schedules.count_documents({}) == 2
    assert db.users.count_documents({"role": users.FRONT_DESK}) == 2
    second = runner.invoke(args=args)
    assert second.exit_code == 0 and "Created 0 demo appointments" in second.output
    assert db.appointments.count_documents({}) == 30
    with app.app_context():
        assert audit_jobs.run_audit(get_db(), app).ok

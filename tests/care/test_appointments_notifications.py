"""Each sealed appointment change tells the other side, links to the appointment, and never
carries the reason or a note."""
from datetime import timedelta

from models.notify import text
from models.storage.db import get_db
from tests.auditor_support import login
from tests.care.support import act, ask, book, future_slot, propose, publish

REASON = "Zebrafinch relapse worries"


def _notes(world, account):
    return sorted(get_db(world.app).notifications.find({"recipient": account["human_id"]}),
                  key=lambda note: note["seq"])


def _said(world, account):
    return [text.describe(note) for note in _notes(world, account)]


def test_the_direct_flow_tells_each_side_what_the_other_did(world, desk):
    publish(world)
    start = future_slot(hour=13)
    appt = book(world, start, reason=REASON)
    act(world, appt, world.doctor, "accepted", now=start - timedelta(hours=2))
    act(world, appt, desk[0], "arrived")
    act(world, appt, world.doctor, "fulfilled")
    doctor, patient = _said(world, world.doctor), _said(world, world.patient)
    appt_id = appt["appointment_id"]
    assert len(doctor) == 2 and len(patient) == 2
    assert f"asks for an appointment {appt_id}" in doctor[0]
    assert "checked in the patient" in doctor[1] and "Dee Desk" in doctor[1]
    assert f"Dana Doctor (DOC-000001, {world.hospital_a['human_id']}) accepted appointment " \
        f"{appt_id}" in patient[0]
    assert f"marked appointment {appt_id}" in patient[1] and "fulfilled" in patient[1]
    assert not _notes(world, desk[0])  # the desk is not notified (it acted)
    for note in _notes(world, world.doctor) + _notes(world, world.patient):
        assert REASON not in str(note) and note["target"] == {"kind": "appointment",
                                                              "appointment": appt_id}


def test_request_mode_and_a_cancellation(world, manager_a):
    publish(world)
    appt = ask(world, manager_a, reason=REASON)
    timed = propose(world, appt, world.doctor)
    act(world, timed, world.patient, "cancelled", note="Quorvaxolin helped")
    patient, doctor = _said(world, world.patient), _said(world, world.doctor)
    assert len(patient) == 1 and "proposes" in patient[0] and "accept or decline" in patient[0]
    assert len(doctor) == 2 and "cancelled appointment" in doctor[1]
    assert "Quorvaxolin" not in str(_notes(world, world.doctor))


def test_a_notification_opens_the_appointment(world, client):
    publish(world)
    appt = book(world)
    login(client, world.doctor)
    note = _notes(world, world.doctor)[0]
    opened = client.post(f"/notifications/{note['_id']}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/appointments/{appt['appointment_id']}")

"""The appointment state machine, table-driven through HTTP.

For every state an appointment can be in, every action and every party (patient, doctor,
the doctor's front desk): the allowed ones (written out here, independently of the model's
TABLE) change the status, append exactly one `appointment.<action>` block and keep the
history; every other one answers 403 (a party the action is not for) or 409 (the right
party, the wrong moment) and changes nothing at all.
"""
from datetime import timedelta

import pytest

from models.care import appointments
from tests.auditor_support import login
from tests.care.support import (act, ask, book, future_slot, past_slot, propose, publish)

PATIENT, DOCTOR, DESK = "patient", "doctor", "desk"
EVERYONE = {PATIENT, DOCTOR, DESK}
# action -> (the parties it is for, the status it leads to)
ACTIONS = {
    "time_proposed": ({DOCTOR, DESK}, "proposed"),
    "accepted": ({PATIENT, DOCTOR}, "booked"),
    "declined": ({PATIENT, DOCTOR}, "cancelled"),
    "cancelled": (EVERYONE, "cancelled"),
    "arrived": ({DESK}, "arrived"),
    "fulfilled": ({DOCTOR}, "fulfilled"),
    "noshow": ({DOCTOR}, "noshow"),
    "entered_in_error": ({DOCTOR, DESK}, "entered-in-error"),
}
STAFF_ERROR = {"entered_in_error": {DOCTOR, DESK}}
# state -> {action: parties allowed in that state}
ALLOWED = {
    "proposed": {"accepted": {DOCTOR}, "declined": {DOCTOR}, "cancelled": EVERYONE,
                 **STAFF_ERROR},
    "requested": {"time_proposed": {DOCTOR, DESK}, "declined": {DOCTOR}, "cancelled": EVERYONE,
                  **STAFF_ERROR},
    "offered": {"accepted": {PATIENT}, "declined": {PATIENT}, "cancelled": EVERYONE,
                **STAFF_ERROR},
    "booked": {"cancelled": EVERYONE, "arrived": {DESK}, **STAFF_ERROR},
    "booked-started": {"arrived": {DESK}, "noshow": {DOCTOR}, **STAFF_ERROR},
    "arrived": {"fulfilled": {DOCTOR}, **STAFF_ERROR},
    "fulfilled": dict(STAFF_ERROR),
    "noshow": dict(STAFF_ERROR),
    "cancelled": dict(STAFF_ERROR),
    "entered-in-error": {},
}
CASES = [(state, action, party) for state in ALLOWED for action in ACTIONS
         for party in (PATIENT, DOCTOR, DESK)]
ALLOWED_CASES = [case for case in CASES if case[2] in ALLOWED[case[0]].get(case[1], ())]
NOTE = "Clash with an operation"


def build(world, manager, desk, state):
    """An appointment in `state`, brought there through the models."""
    publish(world)
    if state in ("requested", "offered"):
        appt = ask(world, manager)
        return propose(world, appt, world.doctor) if state == "offered" else appt
    started = state in ("booked-started", "arrived", "fulfilled", "noshow")
    start = past_slot() if started else future_slot()
    before = start - timedelta(hours=1)
    appt = book(world, start)
    if state == "proposed":
        return appt
    if state == "cancelled":
        return act(world, appt, world.patient, "cancelled", note=NOTE, now=before)
    if state == "entered-in-error":
        return act(world, appt, world.doctor, "entered_in_error", note=NOTE)
    appt = act(world, appt, world.doctor, "accepted", now=before)
    if state == "noshow":
        return act(world, appt, world.doctor, "noshow")
    if state in ("arrived", "fulfilled"):
        appt = act(world, appt, desk, "arrived")
    if state == "fulfilled":
        appt = act(world, appt, world.doctor, "fulfilled")
    return appt


def _snapshot(world, appt):
    return (world.find_one("appointments", {"_id": appt["_id"]}),
            world.count("ledger_blocks"), world.count("slot_holds"))


def _post(client, appt, action):
    appt_id = appt["appointment_id"]
    if action == "time_proposed":
        start = future_slot(4).strftime("%Y-%m-%dT%H:%MZ")
        return client.post(f"/appointments/{appt_id}/propose", data={"start": start})
    return client.post(f"/appointments/{appt_id}/act/{action}",
                       data={f"{action}-note": NOTE, f"{action}-submit": "Confirm"})


def test_the_table_covers_every_action_of_the_model():
    assert set(ACTIONS) == {row.action for row in appointments.TABLE} - {"requested"}
    assert {state for state in ALLOWED} >= set(appointments.STATUSES) - {"proposed"}


@pytest.mark.parametrize("state, action, party", ALLOWED_CASES,
                         ids=[f"{s}-{a}-{p}" for s, a, p in ALLOWED_CASES])
def test_each_allowed_action_in_each_state(world, client, manager_a, desk, state, action, party):
    appt = build(world, manager_a, desk[0], state)
    blocks = world.count("ledger_blocks")
    login(client, {PATIENT: world.patient, DOCTOR: world.doctor, DESK: desk[0]}[party])
    response = _post(client, appt, action)
    after = world.find_one("appointments", {"_id": appt["_id"]})
    target = ACTIONS[action][1]
    assert response.status_code == 302, response.text
    assert after["status"] == target
    assert after["history"][-1]["action"] == action
    assert world.count("ledger_blocks") == blocks + 1
    assert world.count("ledger_blocks", {"kind": f"appointment.{action}"}) == 1
    if target in ("cancelled", "entered-in-error"):
        assert world.count("slot_holds", {"appointment_id": appt["appointment_id"]}) == 0


@pytest.mark.parametrize("state", list(ALLOWED))
def test_every_refused_action_in_each_state(world, app, manager_a, desk, subtests, state):
    """A refusal changes nothing, so one appointment per state serves every refused action
    and party (a world each would cost ~0.25 s per case)."""
    appt = build(world, manager_a, desk[0], state)
    clients = {party: app.test_client() for party in EVERYONE}
    for party, account in ((PATIENT, world.patient), (DOCTOR, world.doctor), (DESK, desk[0])):
        login(clients[party], account)
    refused = [(action, party) for s, action, party in CASES
               if s == state and (state, action, party) not in ALLOWED_CASES]
    assert refused
    for action, party in refused:
        with subtests.test(action=action, party=party):
            before = _snapshot(world, appt)
            response = _post(clients[party], appt, action)
            parties = ACTIONS[action][0]
            assert response.status_code == (409 if party in parties else 403), response.text
            assert _snapshot(world, appt) == before

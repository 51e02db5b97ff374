"""Single-use and state-changing transitions raced on the real server (issue 18).

Each race releases its requests at one barrier, ROUNDS times on fresh documents: exactly one
racer wins, every other gets the documented refusal, the ledger holds one block for the
transition, and nothing is left half-written (no pending change, the audit is sound).
"""
from datetime import timedelta

import pytest

from models.clinical import records
from models.consent import access, emergency
from models.consent import workflow as consent
from models.core.clock import now_ms
from models.people import users
from models.storage.db import get_db
from tests.conftest import PASSWORD
from tests.races.race_support import (ROUNDS, STAGGER, blocks, clients, later, one_winner, race,
                                      settled)
from tests.records.world import SECRET, VALID

pytestmark = pytest.mark.integration
READERS = 4


def test_a_one_time_grant_serves_exactly_one_of_racing_reads(sealed_world):
    world = sealed_world
    readers = clients(world.app, *[world.colleague] * READERS)
    for round_ in range(ROUNDS):
        rec = world.write(world.doctor, "allergy")
        grant = world.grant(world.colleague["human_id"], scope_kind="records",
                            records_text=rec["record_id"], one_time=True)
        url = f"/doctor/records/{rec['record_id']}/v1"
        responses = race(*[(reader, lambda c: c.get(url)) for reader in readers])
        winner = one_winner(responses, won=200, lost=403)
        shown = [SECRET["allergy"] in response.text for response in responses]
        assert shown == [index == winner for index in range(READERS)], round_
        assert all(access.USED in response.text for index, response in enumerate(responses)
                   if index != winner)
        assert world.count("record_reads", {"record_id": rec["record_id"]}) == 1
        used = world.find_one("grants", {"grant_id": grant["grant_id"]})
        assert (used["state"], used["used_record"]) == (consent.USED, rec["record_id"])
        assert blocks(world.app, consent.USED_KIND) == round_ + 1
    settled(world.app)


def _amend(rec):
    data = dict(VALID["note"], text="A corrected marbleflux note")
    return lambda c: c.post(f"/doctor/records/{rec['record_id']}/v1/amend", data=data)


def _entered_in_error(rec):
    return lambda c: c.post(f"/doctor/records/{rec['record_id']}/v1/entered-in-error",
                            data={"reason": "Written on the wrong patient"})


def test_amendments_racing_entered_in_error_leave_one_outcome(sealed_world):
    world = sealed_world
    tabs = clients(world.app, *[world.doctor] * 3)
    amended = errors = 0
    for round_ in range(ROUNDS):
        rec = world.write(world.doctor, "note")
        moves = [_amend(rec), _amend(rec), later(STAGGER[round_], _entered_in_error(rec))]
        winner = one_winner(race(*zip(tabs, moves)))
        first = world.find_one("records", {"record_id": rec["record_id"], "version": 1})
        second = world.find_one("records", {"record_id": rec["record_id"], "version": 2})
        if winner < 2:
            amended += 1
            assert (first["status"], first["superseded_by"]) == (records.AMENDED, 2), round_
            assert second is not None and second["supersedes"] == 1
        else:
            errors += 1
            assert first["status"] == records.ENTERED_IN_ERROR and second is None, round_
        assert world.count("records", {"record_id": rec["record_id"]}) == 1 + (winner < 2)
        assert blocks(world.app, records.AMENDED_KIND) == amended
        assert blocks(world.app, records.ERROR_KIND) == errors
    print(f"amended {amended}, entered in error {errors}")
    settled(world.app)


def test_a_prescription_is_dispensed_or_cancelled_once(sealed_world, make_account):
    world = sealed_world
    second = make_account(users.PHARMACIST, "pharmacist2", org_id=world.pharmacy["human_id"])
    pharmacists = clients(world.app, world.pharmacist, world.pharmacist, second)
    prescriber, = clients(world.app, world.doctor)
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    dispensed = cancelled = 0
    for round_ in range(ROUNDS):
        rx = world.write(world.doctor, "prescription")
        path = f"{rx['record_id']}/v1"
        dispense = (lambda c: c.post(f"/staff/prescriptions/{path}/dispense"))
        cancel = (lambda c: c.post(f"/doctor/records/{path}/cancel-prescription",
                                   data={"reason": "Interaction with a new medication"}))
        late = STAGGER[round_]  # the prescriber leads in odd rounds, the pharmacists in even
        moves = [(pharmacist, later(late * (round_ % 2), dispense)) for pharmacist in pharmacists]
        moves.append((prescriber, later(late * (1 - round_ % 2), cancel)))
        winner = one_winner(race(*moves))
        stored = world.find_one("records", {"_id": rx["_id"]})
        if winner < len(pharmacists):
            dispensed += 1
            assert stored["rx_status"] == records.RX_DISPENSED and "rx_cancel" not in stored
        else:
            cancelled += 1
            assert stored["rx_status"] == records.RX_CANCELLED and "dispense" not in stored
        assert blocks(world.app, "record.dispensed") == dispensed, round_
        assert blocks(world.app, records.RX_CANCELLED_KIND) == cancelled, round_
    print(f"dispensed {dispensed}, cancelled {cancelled}")
    settled(world.app)


def test_a_request_is_approved_rejected_or_cancelled_once(sealed_world):
    world = sealed_world
    patient_tabs = clients(world.app, world.patient, world.patient)
    requester, = clients(world.app, world.outsider)
    outcomes = {consent.APPROVED: 0, consent.REJECTED: 0, consent.CANCELLED: 0}
    for round_ in range(ROUNDS):
        rec = world.write(world.doctor, "diagnosis")
        req = world.ask(world.outsider, scope_kind="records", records_text=rec["record_id"])
        base = f"/requests/{req['request_id']}"
        moves = [(patient_tabs[0], lambda c: c.post(f"/patient{base}/approve",
                                                    data={"duration_days": "7"})),
                 (patient_tabs[1], later(STAGGER[round_], lambda c: c.post(
                     f"/patient{base}/reject", data={"note": "Not now"}))),
                 (requester, later(STAGGER[round_], lambda c: c.post(f"/doctor{base}/cancel")))]
        winner = one_winner(race(*moves))
        state = (consent.APPROVED, consent.REJECTED, consent.CANCELLED)[winner]
        outcomes[state] += 1
        decided = world.find_one("access_requests", {"request_id": req["request_id"]})
        grants = world.count("grants", {"request_id": req["request_id"]})
        assert (decided["state"], grants) == (state, int(state == consent.APPROVED)), round_
        assert bool(decided["grant_id"]) == (state == consent.APPROVED)
        kinds = (consent.APPROVED_KIND, consent.REJECTED_KIND, consent.CANCELLED_KIND)
        assert [blocks(world.app, kind) for kind in kinds] == list(outcomes.values()), round_
    print(outcomes)
    settled(world.app)


def test_break_glass_clicked_in_three_tabs_opens_one_emergency(sealed_world, make_account):
    world = sealed_world
    tabs = clients(world.app, *[world.outsider] * 3)
    for round_ in range(ROUNDS):
        patient = make_account(users.PATIENT, f"unconscious{round_}")
        url = f"/doctor/patients/{patient['human_id']}/emergency"
        one_winner(race(*[(tab, lambda c: c.post(url, data={
            "password": PASSWORD, "reason": "Unconscious on arrival, needs history"}))
            for tab in tabs]))
        assert world.count("emergencies", {"patient_id": patient["human_id"]}) == 1, round_
        assert blocks(world.app, emergency.OPENED_KIND) == round_ + 1
    settled(world.app)


def test_an_emergency_access_is_reviewed_once(sealed_world, make_account):
    world = sealed_world
    auditors = [world.auditor] + [make_account(users.AUDITOR, f"auditor{n}") for n in (2, 3)]
    reviewers = clients(world.app, *auditors)
    verdicts = ("justified", "unjustified", "justified")
    for round_ in range(ROUNDS):
        with world.app.app_context():
            case = emergency.open_emergency(
                get_db(), doctor=world.outsider, patient_id=world.patient["human_id"],
                password=PASSWORD, reason="Unconscious on arrival, needs history", minutes=60,
                now=now_ms() - timedelta(hours=2 * (round_ + 1)))
        url = f"/auditor/emergencies/{case['emergency_id']}"
        moves = [(reviewer, lambda c, verdict=verdict: c.post(url, data={
            "verdict": verdict, "note": f"Verdict {verdict}"})) for reviewer, verdict in
            zip(reviewers, verdicts)]
        winner = one_winner(race(*moves))
        reviewed = world.find_one("emergencies", {"emergency_id": case["emergency_id"]})
        assert reviewed["review_state"] == verdicts[winner], round_
        assert reviewed["review"]["by"] == auditors[winner]["human_id"]
        assert blocks(world.app, emergency.REVIEWED_KIND) == round_ + 1
    settled(world.app)

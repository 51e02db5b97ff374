"""No double booking under concurrency, on the embedded server (real pymongo): patients
posting the same slot at the same moment, and two front desks proposing one time for two
requests. Exactly one wins; the others get 409 and leave nothing behind."""
import threading

import pytest

from models.care import appointments
from models.people import users
from tests.auditor_support import login
from tests.care.support import ask, future_slot, publish

pytestmark = pytest.mark.integration
RACERS = 4


def _race(app, accounts, post):
    clients = [app.test_client() for _ in accounts]
    for each, account in zip(clients, accounts):
        login(each, account)
    barrier = threading.Barrier(len(clients))
    statuses = []

    def run(each, index):
        barrier.wait()
        statuses.append(post(each, index).status_code)

    threads = [threading.Thread(target=run, args=(each, index))
               for index, each in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(statuses)


def test_patients_racing_for_one_slot_get_one_booking(world, app, make_account):
    publish(world)
    patients = [world.patient, world.other_patient] + [
        make_account(users.PATIENT, f"racer{n}") for n in range(RACERS - 2)]
    start = future_slot(2, hour=15).strftime("%Y-%m-%dT%H:%MZ")
    url = f"/appointments/book/{world.doctor['human_id']}"
    statuses = _race(app, patients, lambda each, index: each.post(
        url, data={"start": start, "reason": f"Racing patient {index}"}))
    assert statuses == [302] + [409] * (RACERS - 1)
    assert world.count("appointments") == 1
    winner = world.find_one("appointments", {})
    assert world.count("slot_holds") == world.count(
        "slot_holds", {"appointment_id": winner["appointment_id"]}) == 6
    assert world.count("ledger_blocks", {"kind": "appointment.requested"}) == 1


def test_two_desks_proposing_one_time_for_two_requests_hold_it_once(world, app, make_account,
                                                                   manager_a):
    publish(world)
    first = ask(world, manager_a)
    second = ask(world, manager_a, patient=world.other_patient)
    desks = [make_account(users.FRONT_DESK, f"desk{n}", org_id=world.hospital_a["human_id"])
             for n in range(2)]
    start = future_slot(3, hour=11).strftime("%Y-%m-%dT%H:%MZ")
    ids = [first["appointment_id"], second["appointment_id"]]
    statuses = _race(app, desks, lambda each, index: each.post(
        f"/appointments/{ids[index]}/propose", data={"start": start}))
    assert statuses == [302, 409]
    timed = [world.find_one("appointments", {"appointment_id": appt_id}) for appt_id in ids]
    assert sorted(bool(appt["start"]) for appt in timed) == [False, True]
    assert all(appt["status"] == appointments.PROPOSED for appt in timed)
    assert world.count("slot_holds") == 6

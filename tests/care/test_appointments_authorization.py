"""The authorization matrix of the appointment routes by id: another patient, a doctor of the
same or another hospital, another hospital's front desk, and every other role get 403 or 404
and change nothing; a control shows each URL works for the people it belongs to."""
import pytest

from tests.auditor_support import login
from tests.care.support import book, future_slot, publish

OUTSIDERS = ["other_patient", "colleague", "outsider", "desk_b", "manager_a", "manager_b",
             "pharmacist", "lab_tech", "admin", "auditor"]
START = "2099-01-05T09:00Z"


@pytest.fixture
def people(world, desk, manager_a):
    found = {name: getattr(world, name) for name in OUTSIDERS if hasattr(world, name)}
    found.update(desk_a=desk[0], desk_b=desk[1], manager_a=manager_a, patient=world.patient,
                 doctor=world.doctor)
    return found


@pytest.fixture
def appt(world):
    publish(world)
    return book(world, future_slot(5, hour=16))


def routes(appt_id, doctor_id):
    """(method, url, form data) for every appointment and schedule route naming an id."""
    return [("GET", f"/appointments/{appt_id}", None)] + [
        ("POST", f"/appointments/{appt_id}/act/{action}",
         {f"{action}-note": "Not mine to touch"})
        for action in ("accepted", "declined", "cancelled", "arrived", "fulfilled", "noshow",
                       "entered_in_error")] + [
        ("POST", f"/appointments/{appt_id}/propose", {"start": START}),
        ("GET", f"/appointments/schedule/{doctor_id}", None),
        ("POST", f"/appointments/schedule/{doctor_id}",
         {"slot_minutes": "10", "hours": "Sun 01:00-02:00", "leave": ""}),
    ]


def _state(world):
    return (world.count("ledger_blocks"), world.count("schedules"), world.count("slot_holds"),
            world.find_one("appointments", {}))


@pytest.mark.parametrize("who", OUTSIDERS)
def test_no_one_else_reaches_an_appointment_or_a_schedule(world, client, people, appt, who):
    login(client, people[who])
    before = _state(world)
    listed = routes(appt["appointment_id"], world.doctor["human_id"])
    if who == "manager_a":  # manages the doctor's schedule (the control below), not appointments
        listed = [route for route in listed if "/schedule/" not in route[1]]
    for method, url, data in listed:
        response = client.open(url, method=method, data=data)
        assert response.status_code in (403, 404), (who, method, url, response.status_code)
        assert "Recurring headaches" not in response.text
    assert _state(world) == before


@pytest.mark.parametrize("who, urls", [
    ("patient", [0]), ("doctor", [0, 9, 10]), ("desk_a", [0]), ("manager_a", [9, 10])])
def test_the_people_it_belongs_to_get_the_pages(world, client, people, appt, who, urls):
    login(client, people[who])
    listed = routes(appt["appointment_id"], world.doctor["human_id"])
    for index in urls:
        method, url, data = listed[index]
        response = client.open(url, method=method, data=data)
        assert response.status_code in ((200,) if method == "GET" else (302,)), (who, url)


def test_the_patient_sees_the_reason_and_the_doctor_answers(world, client, people, appt):
    login(client, people["patient"])
    assert "Recurring headaches" in client.get(f"/appointments/{appt['appointment_id']}").text
    client.post("/logout")
    login(client, people["doctor"])
    response = client.post(f"/appointments/{appt['appointment_id']}/act/accepted")
    assert response.status_code == 302

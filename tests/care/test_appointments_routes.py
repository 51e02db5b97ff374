"""The appointment pages through HTTP: the whole direct flow, request mode, the calendars,
the schedule editor and booking mode, and the request-access link (consent stays the
patient's)."""
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from models.care import appointments, schedules
from models.storage.db import get_db
from tests.auditor_support import login
from tests.records.world import SECRET
from tests.care.support import ALL_DAY, book, future_slot, publish, set_mode


def _post(client, url, **data):
    return client.post(url, data=data)


def _slot_value(start):
    return start.strftime("%Y-%m-%dT%H:%MZ")


def test_patient_books_doctor_accepts_desk_checks_in_doctor_fulfils(world, client, desk):
    publish(world)
    login(client, world.patient)
    found = client.get("/appointments/find", query_string={"q": "Dana"})
    assert found.status_code == 200 and world.doctor["human_id"] in found.text
    page = client.get(f"/appointments/book/{world.doctor['human_id']}")
    start = future_slot(1, hour=10)
    assert page.status_code == 200 and _slot_value(start) in page.text
    booked = _post(client, f"/appointments/book/{world.doctor['human_id']}",
                   start=_slot_value(start), reason="Persistent cough")
    assert booked.status_code == 302, booked.text
    appt_id = booked.headers["Location"].rsplit("/", 1)[-1]
    assert appt_id in client.get("/appointments/mine").text
    client.post("/logout")

    login(client, world.doctor)
    week = client.get("/appointments/week", query_string={"date": start.date().isoformat()})
    assert appt_id in week.text
    assert _post(client, f"/appointments/{appt_id}/act/accepted").status_code == 302
    assert "request-access" in client.get(f"/appointments/{appt_id}").text
    client.post("/logout")

    login(client, desk[0])
    dashboard = client.get("/desk/")
    assert "desk-appointments" in dashboard.text
    assert _post(client, f"/appointments/{appt_id}/act/arrived").status_code == 302
    client.post("/logout")

    login(client, world.doctor)
    assert _post(client, f"/appointments/{appt_id}/act/fulfilled").status_code == 302
    page = client.get(f"/appointments/{appt_id}")
    link = re.search(r'href="([^"]+)" data-testid="request-access"', page.text).group(1)
    link = link.replace("&amp;", "&")
    args = parse_qs(urlparse(link).query)
    assert args["purpose"] == ["treatment"] and "Persistent cough" in args["message"][0]
    form = client.get(link)
    assert form.status_code == 200 and "Persistent cough" in form.text
    assert world.count("access_requests") == 0  # nothing is asked until the doctor sends it
    assert world.find_one("appointments", {"appointment_id": appt_id})["status"] == \
        appointments.FULFILLED


def test_request_mode_through_the_pages(world, client, desk, manager_a):
    publish(world)
    login(client, manager_a)
    assert client.get("/appointments/settings").status_code == 200
    assert _post(client, "/appointments/settings", mode="request").status_code == 302
    client.post("/logout")
    login(client, world.patient)
    page = client.get(f"/appointments/book/{world.doctor['human_id']}")
    assert "Request an appointment" in page.text
    sent = _post(client, f"/appointments/book/{world.doctor['human_id']}",
                 reason="Back pain", preferred_days="Mornings")
    assert sent.status_code == 302
    appt_id = sent.headers["Location"].rsplit("/", 1)[-1]
    client.post("/logout")
    login(client, desk[0])
    assert appt_id in client.get("/desk/").text
    start = future_slot(2, hour=14)
    assert _slot_value(start) in client.get(f"/appointments/{appt_id}").text
    assert _post(client, f"/appointments/{appt_id}/propose",
                 start=_slot_value(start)).status_code == 302
    client.post("/logout")
    login(client, world.patient)
    assert _post(client, f"/appointments/{appt_id}/act/accepted").status_code == 302
    assert world.find_one("appointments", {"appointment_id": appt_id})["status"] == \
        appointments.BOOKED


def test_calendars_move_by_day_and_week_in_the_installation_zone(world, client):
    world.app.config["TIMEZONE"] = "America/New_York"
    publish(world, hours=ALL_DAY)
    start = future_slot(3, hour=3)  # 03:00 UTC is the evening before in New York
    appt = book(world, start, now=start - timedelta(days=2))
    login(client, world.doctor)
    local_day = (start - timedelta(hours=6)).date()
    day = client.get("/appointments/day", query_string={"date": local_day.isoformat()})
    assert appt["appointment_id"] in day.text
    assert re.search(r"23:00 E[SD]T|22:00 E[SD]T", day.text)  # shown in New York time
    assert (local_day + timedelta(days=1)).isoformat() in day.text  # the next-day link
    other = client.get("/appointments/day",
                       query_string={"date": (local_day + timedelta(days=1)).isoformat()})
    assert appt["appointment_id"] not in other.text
    assert client.get("/appointments/week", query_string={"date": "2030-02-30"}).status_code == 400


def test_the_schedule_editor_publishes_versions(world, client, manager_a):
    login(client, world.doctor)
    assert client.get("/appointments/schedule").status_code == 302
    url = f"/appointments/schedule/{world.doctor['human_id']}"
    assert _post(client, url, slot_minutes="20", hours="Mon 09:00-12:00",
                 leave="").status_code == 302
    assert "Mon 09:00-12:00" in client.get(url).text
    bad = _post(client, url, slot_minutes="20", hours="Mon 9-12", leave="")
    assert bad.status_code == 400 and "Mon 09:00-12:00" in bad.text
    client.post("/logout")
    login(client, manager_a)
    assert world.doctor["human_id"] in client.get("/appointments/settings").text
    assert _post(client, url, slot_minutes="30", hours="Tue 09:00-12:00",
                 leave="2030-01-01").status_code == 302
    with world.app.app_context():
        assert schedules.current(get_db(), world.doctor["human_id"])["version"] == 2


def test_a_booked_appointment_opens_no_record(world, client):
    """Booking, accepting, even fulfilling an appointment gives the doctor no access: the
    patient's records by another doctor stay hidden until the patient grants access."""
    note = world.write(world.colleague, "note")
    publish(world)
    start = future_slot(hour=12)
    appt = book(world, start)
    with world.app.app_context():
        appointments.act(get_db(), actor=world.doctor, appointment_id=appt["appointment_id"],
                         action="accepted")
    login(client, world.doctor)
    page = client.get(f"/doctor/records/{note['record_id']}/v1")
    assert page.status_code == 403 and SECRET["note"] not in page.text
    patient_page = client.get(f"/doctor/patients/{world.patient['human_id']}")
    assert SECRET["note"] not in patient_page.text
    assert world.count("grants") == 0 and world.count("record_reads") == 0

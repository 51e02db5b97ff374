"""Lists that grow are keyset pages: every item once, newest first, a bad cursor is a 400."""
import re

import pytest

from models.consent import emergency
from models.people import users
from models.storage import paging
from models.storage.db import get_db
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(paging, "PER_PAGE", 3)


def walk(client, url, row_pattern):
    """The ids on every page, following the "Older" link until there is none."""
    seen, pages = [], 0
    while url and pages < 20:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        seen.extend(re.findall(row_pattern, html))
        older = re.search(r'rel="next" data-testid="[\w-]+" href="([^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    return seen, pages


def patients(make_account, count):
    return [make_account(users.PATIENT, name=f"Patient {n}") for n in range(count)]


def test_doctor_requests_page_through_all_newest_first(world, make_account, client, auth):
    asked = [world.ask(world.doctor, patient=person)["request_id"]
             for person in patients(make_account, 7)]
    auth.login("doctor", PASSWORD)
    seen, pages = walk(client, "/doctor/requests", r'data-request-id="([^"]+)"')
    assert seen == list(reversed(asked))
    assert pages == 3


def test_organization_requests_page(world, make_account, client, auth):
    asked = [world.ask(world.manager, patient=person)["request_id"]
             for person in patients(make_account, 4)]
    auth.login("manager", PASSWORD)
    seen, pages = walk(client, "/organization/requests", r'data-request-id="([^"]+)"')
    assert seen == list(reversed(asked)) and pages == 2


def test_patient_received_requests_page(world, make_account, client, auth):
    doctors = [make_account(users.DOCTOR, org_id=world.hospital_a["human_id"]) for _ in range(5)]
    asked = [world.ask(doctor)["request_id"] for doctor in doctors]
    auth.login("patient", PASSWORD)
    seen, pages = walk(client, "/patient/grants", r'/patient/requests/([\w-]+)"')
    assert seen == list(reversed(asked)) and pages == 2


def test_one_patients_requests_never_show_anothers(world, make_account, client, auth):
    world.ask(world.doctor, patient=world.other_patient)
    mine = world.ask(world.colleague)["request_id"]
    auth.login("patient", PASSWORD)
    seen, _ = walk(client, "/patient/grants", r'/patient/requests/([\w-]+)"')
    assert seen == [mine]


def test_patient_emergency_accesses_page(world, make_account, client, auth):
    doctors = [make_account(users.DOCTOR, org_id=world.hospital_a["human_id"]) for _ in range(4)]
    opened = []
    with world.app.app_context():
        for doctor in doctors:
            case = emergency.open_emergency(get_db(), doctor=doctor,
                                            patient_id=world.patient["human_id"],
                                            password=PASSWORD, reason="Unconscious on arrival",
                                            minutes=30)
            opened.append(case["emergency_id"])
    auth.login("patient", PASSWORD)
    seen, pages = walk(client, "/patient/emergencies", r'<td class="mono">(EMG-[\w-]+)</td>')
    assert seen == list(reversed(opened)) and pages == 2


@pytest.mark.parametrize("before", ["abc", "-1", "1e3", "9" * 16])
def test_a_bad_cursor_is_a_400(world, client, auth, before):
    auth.login("doctor", PASSWORD)
    response = client.get(f"/doctor/requests?before={before}")
    assert response.status_code == 400
    assert "page link is not valid" in response.get_data(as_text=True)


def test_who_saw_my_records_pages_and_keeps_filters(world, client, auth):
    record = world.write(world.doctor, "note")
    world.grant(world.colleague["human_id"])
    world.grant(world.doctor["human_id"])
    for reader in (world.colleague, world.doctor) * 4:
        client.post("/logout")
        auth.login(reader["username"], PASSWORD)
        assert client.get(f"/doctor/records/{record['record_id']}/v1").status_code == 200
    client.post("/logout")
    auth.login("patient", PASSWORD)
    row = r'data-testid="who-saw-row" data-viewer="([^"]+)"'
    everyone, pages = walk(client, "/patient/access-log", row)
    assert len(everyone) == 8 and pages == 3
    colleague, pages = walk(client, "/patient/access-log?viewer=" + world.colleague["human_id"], row)
    assert colleague == [world.colleague["human_id"]] * 4 and pages == 2
    csv = client.get("/patient/access-log.csv").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 1 + 8     # the CSV holds every page

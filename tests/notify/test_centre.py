"""The notification centre through HTTP: the navbar count for the roles it concerns, the list
(newest first, keyset pages), opening one (read, and on to the page it concerns), marking one
or all read, only one's own (anyone else's is 404), CSRF on every POST, and the settings."""
import re

import pytest

from app import create_app
from models.clinical import reading
from models.consent import emergency
from models.notify import inbox, text
from models.people import users
from models.storage.db import get_db
from tests.conftest import PASSWORD, make_config


def login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def mine(app, account):
    return sorted(get_db(app).notifications.find({"recipient": account["human_id"]}),
                  key=lambda note: note["seq"])


def count_in_navbar(html):
    match = re.search(r'data-testid="notification-count">(\d+)<', html)
    return int(match.group(1)) if match else 0


def listed_ids(html):
    return re.findall(r'data-notification-id="([^"]+)"', html)


def read_once(world, reader, doc):
    with world.app.app_context():
        reading.read_version(get_db(), reader, doc["record_id"], doc["version"])


def test_the_navbar_counts_unread_notifications_for_the_people_they_concern(world, client, auth):
    world.ask(world.doctor)
    world.ask(world.outsider)
    login(auth, world.patient)
    page = client.get("/patient/")
    assert 'data-testid="nav-notifications"' in page.text
    assert count_in_navbar(page.text) == 2
    assert 'aria-label="Notifications, 2 unread"' in page.text
    auth.logout()
    login(auth, world.doctor)  # nothing for the doctor yet: the bell, no number
    page = client.get("/doctor/")
    assert 'data-testid="nav-notifications"' in page.text and count_in_navbar(page.text) == 0


@pytest.mark.parametrize("role", ["pharmacist", "lab_tech", "admin"])
def test_roles_no_change_concerns_see_no_bell_and_no_centre(world, client, auth, role):
    login(auth, getattr(world, role))
    assert 'data-testid="nav-notifications"' not in client.get("/", follow_redirects=True).text
    assert client.get("/notifications/").status_code == 403


def test_the_list_is_newest_first_in_keyset_pages(app, world, client, auth):
    for height in range(inbox.PER_PAGE + 5):
        inbox.deliver(get_db(app), world.patient["human_id"], 1000 + height, text.REQUEST,
                      about={"request": f"REQ-{height:06d}"})
    inbox.deliver(get_db(app), world.other_patient["human_id"], 5000, text.REQUEST)
    login(auth, world.patient)
    first = client.get("/notifications/")
    ids = listed_ids(first.text)
    assert ids == [f"{1000 + height}-{world.patient['human_id']}"
                   for height in range(inbox.PER_PAGE + 4, 4, -1)]
    older = re.search(r'href="/notifications/\?before=(\d+)" data-testid="older-page"', first.text)
    assert older and older.group(1) == "6"
    second = client.get(f"/notifications/?before={older.group(1)}")
    assert listed_ids(second.text) == [f"{1000 + height}-{world.patient['human_id']}"
                                       for height in range(4, -1, -1)]
    assert 'data-testid="older-page"' not in second.text
    assert 'data-testid="newest-page"' in second.text
    assert client.get("/notifications/?before=junk").status_code == 200  # ignored, first page


def test_opening_a_request_notification_marks_it_read_and_leads_to_the_request(
        app, world, client, auth):
    req = world.ask(world.doctor)
    world.ask(world.outsider)
    [note, _other] = mine(app, world.patient)
    login(auth, world.patient)
    opened = client.post(f"/notifications/{note['_id']}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/patient/requests/{req['request_id']}"
    assert get_db(app).notifications.find_one({"_id": note["_id"]})["read"] is True
    assert count_in_navbar(client.get("/notifications/").text) == 1
    client.post(f"/notifications/{note['_id']}/open")  # opening it again: still one unread
    assert inbox.unread_count(get_db(app), world.patient["human_id"]) == 1


def test_a_read_notification_opens_who_saw_my_records_for_that_reader(app, world, client, auth):
    doc = world.write(world.colleague, "note")
    world.grant(world.doctor["human_id"])
    read_once(world, world.doctor, doc)
    [note] = [n for n in mine(app, world.patient) if n["kind"] == text.READ]
    login(auth, world.patient)
    listed = client.get("/notifications/").text
    assert "Dana Doctor" in listed and "read your record Clinical note" in listed
    opened = client.post(f"/notifications/{note['_id']}/open")
    assert opened.headers["Location"] == f"/patient/access-log?viewer={world.doctor['human_id']}"
    log_page = client.get(opened.headers["Location"])
    assert log_page.status_code == 200 and doc["record_id"] in log_page.text


def test_each_role_is_led_to_its_own_page(app, world, client, auth):
    req = world.ask(world.doctor)
    world.approve(req["request_id"])
    with app.app_context():
        case = emergency.open_emergency(get_db(), doctor=world.outsider,
                                        patient_id=world.patient["human_id"], password=PASSWORD,
                                        reason="Unconscious", minutes=60)
    [decision] = mine(app, world.doctor)
    login(auth, world.doctor)
    assert client.post(f"/notifications/{decision['_id']}/open").headers["Location"] == \
        "/doctor/requests"
    auth.logout()
    [review] = mine(app, world.auditor)
    login(auth, world.auditor)
    assert client.post(f"/notifications/{review['_id']}/open").headers["Location"] == \
        f"/auditor/emergencies/{case['emergency_id']}"
    auth.logout()
    told = [n for n in mine(app, world.patient) if n["kind"] == text.EMERGENCY][0]
    login(auth, world.patient)
    assert client.post(f"/notifications/{told['_id']}/open").headers["Location"] == \
        "/patient/emergencies"


def test_no_one_sees_or_marks_another_persons_notification(app, world, client, auth):
    world.ask(world.doctor)
    [theirs] = mine(app, world.patient)
    login(auth, world.other_patient)
    assert theirs["_id"] not in client.get("/notifications/").text
    for action in ("open", "read"):
        response = client.post(f"/notifications/{theirs['_id']}/{action}")
        assert response.status_code == 404, action
    assert client.post("/notifications/read-all").status_code == 302
    assert get_db(app).notifications.find_one({"_id": theirs["_id"]})["read"] is False
    assert inbox.unread_count(get_db(app), world.patient["human_id"]) == 1
    assert client.post("/notifications/no-such-thing/open").status_code == 404


def test_mark_one_keeps_the_page_and_mark_all_clears_the_count(app, world, client, auth):
    for doctor in (world.doctor, world.colleague, world.outsider):
        world.ask(doctor)
    first, *_ = mine(app, world.patient)
    login(auth, world.patient)
    response = client.post(f"/notifications/{first['_id']}/read", data={"before": "3"})
    assert response.status_code == 302 and response.headers["Location"] == \
        "/notifications/?before=3"
    assert inbox.unread_count(get_db(app), world.patient["human_id"]) == 2
    done = client.post("/notifications/read-all", follow_redirects=True)
    assert "2 notifications marked read." in done.text
    assert count_in_navbar(done.text) == 0 and 'data-testid="unread-badge"' not in done.text
    assert [note["read"] for note in mine(app, world.patient)] == [True, True, True]


def test_every_mark_needs_the_csrf_token(tmp_path, make_account):
    app = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True))
    patient = make_account.__class__(app)(users.PATIENT, "csrfpatient")
    note = inbox.deliver(get_db(app), patient["human_id"], 1, text.REQUEST)
    client = app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert client.post("/login", data={"username": "csrfpatient", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    for path in (f"/notifications/{note['_id']}/open", f"/notifications/{note['_id']}/read",
                 "/notifications/read-all"):
        assert client.post(path).status_code == 400, path
    assert inbox.unread_count(get_db(app), patient["human_id"]) == 1
    page = client.get("/notifications/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/notifications/{note['_id']}/read",
                       data={"csrf_token": token}).status_code == 302
    assert inbox.unread_count(get_db(app), patient["human_id"]) == 0


def test_settings_keep_an_address_and_the_choice(app, world, client, auth, make_account):
    patient = make_account(users.PATIENT, "mailpatient", name="Mae Mail",
                           profile={"email": "mae@example.org", "phone": None})
    login(auth, patient)
    page = client.get("/notifications/settings")
    assert 'value="mae@example.org"' in page.text and 'autocomplete="email"' in page.text
    bad = client.post("/notifications/settings", data={"email": "not an address",
                                                       "email_notifications": "y"})
    assert bad.status_code == 400
    assert "Enter a valid e-mail address, like name@example.org." in bad.text
    assert users.by_human_id(get_db(app), patient["human_id"])["profile"]["email"] == \
        "mae@example.org"
    cleared = client.post("/notifications/settings", data={"email": ""})
    assert cleared.status_code == 400 and "Keep an e-mail address or a phone number" in cleared.text
    saved = client.post("/notifications/settings", data={"email": " mae2@example.org "})
    assert saved.status_code == 302
    profile = users.by_human_id(get_db(app), patient["human_id"])["profile"]
    assert profile["email"] == "mae2@example.org" and profile["email_notifications"] is False
    auth.logout()
    login(auth, world.doctor)  # a doctor may add an address of their own, or none
    assert client.post("/notifications/settings", data={
        "email": "dana@hospital.example", "email_notifications": "y"}).status_code == 302
    assert client.post("/notifications/settings", data={"email": ""}).status_code == 302

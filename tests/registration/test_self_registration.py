"""Patient self-registration: validation per field, duplicates, sign-in after registering."""
from datetime import date, timedelta

import pytest

from models.core.errors import InvalidInput
from models.people import patients, users
from tests.support_people import snapshot, store

GOOD = {"name": "Jamal Haddad", "date_of_birth": "1990-07-21", "sex": "male",
        "email": "jamal@example.org", "phone": "", "username": "jamal.h",
        "password": "my private passphrase", "confirm": "my private passphrase"}


@pytest.fixture(autouse=True)
def generous_rate_limit(app):
    app.config["REGISTRATION_RATE_LIMIT"] = "1000 per minute"


def test_the_login_page_links_to_registration(client):
    assert b'href="/patient/register"' in client.get("/login").data
    page = client.get("/patient/register")
    assert page.status_code == 200 and b'name="date_of_birth"' in page.data


def test_registration_creates_the_patient_and_signs_them_in(app, client):
    response = client.post("/patient/register", data=GOOD)
    assert response.status_code == 302 and response.headers["Location"] == "/patient/"
    patient = store(app).users.find_one({"username": "jamal.h"})
    assert patient["role"] == users.PATIENT and patient["human_id"].startswith("PAT-")
    assert patient["must_set_password"] is False and users.check_password(patient, GOOD["password"])
    assert patient["profile"] == {"date_of_birth": "1990-07-21", "sex": "male",
                                  "email": "jamal@example.org", "phone": None}
    assert GOOD["password"] not in str(patient)
    assert client.get("/patient/").status_code == 200
    assert client.get("/patient/register").status_code == 302  # already signed in


@pytest.mark.parametrize("field,value,message", [
    ("name", "", b"Enter the full name."),
    ("name", "J", b"Enter the full name."),
    ("name", "Robert'); DROP TABLE--", b"Use letters, spaces"),
    ("date_of_birth", "21/07/1990", b"Enter the date of birth as YYYY-MM-DD."),
    ("date_of_birth", (date.today() + timedelta(days=1)).isoformat(), b"cannot be in the future"),
    ("date_of_birth", "1880-01-01", b"more than 130 years ago"),
    ("sex", "", b"Choose female, male, other or unknown."),
    ("sex", "yes", b"Choose female, male, other or unknown."),
    ("email", "jamal@", b"Enter a valid e-mail address"),
    ("phone", "call me", b"Enter a phone number"),
    ("username", "ab", b"3 to 40 characters"),
    ("username", "jamal h", b"3 to 40 characters"),
    ("password", "short", b"at least 12"),
    ("password", "jamal.h", b"at least 12"),
    ("password", "é" * 40, b"at most 72 bytes"),
])
def test_each_bad_field_is_a_400_with_its_message_and_nothing_is_created(app, client, field, value,
                                                                         message):
    data = dict(GOOD, **{field: value})
    if field == "password":
        data["confirm"] = value
    before = snapshot(app)
    response = client.post("/patient/register", data=data)
    assert response.status_code == 400
    assert message in response.data
    assert snapshot(app) == before


def test_the_password_cannot_be_the_username(app, client):
    data = dict(GOOD, username="jamal.haddad.1990", password="jamal.haddad.1990",
                confirm="jamal.haddad.1990")
    before = snapshot(app)
    response = client.post("/patient/register", data=data)
    assert response.status_code == 400 and b"must not be the username" in response.data
    assert snapshot(app) == before


def test_mismatched_passwords_are_refused(app, client):
    before = snapshot(app)
    response = client.post("/patient/register", data=dict(GOOD, confirm="something else entirely"))
    assert response.status_code == 400 and b"The passwords differ." in response.data
    assert snapshot(app) == before


def test_a_phone_alone_is_enough_but_some_contact_is_required(app, client):
    before = snapshot(app)
    response = client.post("/patient/register", data=dict(GOOD, email="", phone=""))
    assert response.status_code == 400 and b"Give an e-mail address or a phone number." in response.data
    assert snapshot(app) == before
    response = client.post("/patient/register", data=dict(GOOD, email="", phone="+44 (20) 7946-0958"))
    assert response.status_code == 302
    assert store(app).users.find_one({"username": "jamal.h"})["profile"]["phone"] == "+44 (20) 7946-0958"


def test_all_problems_are_reported_at_once(client):
    response = client.post("/patient/register",
                           data=dict(GOOD, name="X", username="!", email="bad", sex="?"))
    assert response.status_code == 400
    assert response.data.count(b"invalid-feedback") >= 4


def test_a_taken_username_is_a_409_whatever_the_case(app, client, make_account):
    make_account(users.DOCTOR, username="jamal.h")
    before = snapshot(app)
    response = client.post("/patient/register", data=dict(GOOD, username="  Jamal.H "))
    assert response.status_code == 409
    assert b"That username is taken." in response.data
    assert snapshot(app) == before


def test_registration_is_rate_limited(app, client):
    app.config["REGISTRATION_RATE_LIMIT"] = "2 per minute"
    bad = dict(GOOD, name="")
    assert client.post("/patient/register", data=bad).status_code == 400
    assert client.post("/patient/register", data=bad).status_code == 400
    assert client.post("/patient/register", data=GOOD).status_code == 429
    assert store(app).users.find_one({"username": "jamal.h"}) is None


def test_model_cleans_names_contacts_and_dates():
    cleaned = patients.clean(name="  Zoë   d'Arcy-Smith ", username=" Zoe.D ", date_of_birth="2001-02-03",
                             sex="other", email="Zoe@Example.ORG ", phone=" +1  555 0100 ",
                             postcode=" sw1a  1aa ", today=date(2024, 1, 1))
    assert cleaned == {"name": "Zoë d'Arcy-Smith", "username": "zoe.d", "date_of_birth": "2001-02-03",
                       "sex": "other", "email": "Zoe@example.org", "phone": "+1 555 0100",
                       "postcode": "SW1A 1AA"}
    with pytest.raises(InvalidInput) as refused:
        patients.clean(name="", username="", date_of_birth="", sex="", email="", phone="")
    # Every problem in one pass, the missing contact too (not in a second round).
    assert set(refused.value.field_errors) == {"name", "username", "date_of_birth", "sex",
                                               "email", "phone"}
    born_today = patients.clean(name="New Born", username="newborn", date_of_birth=date(2024, 1, 1),
                                sex="unknown", phone="555 0100 99", today=date(2024, 1, 1))
    assert born_today["date_of_birth"] == "2024-01-01" and born_today["email"] is None

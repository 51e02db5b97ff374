"""Front-desk registration: the manager registers a patient, who sets a password at first login."""
import re

import pytest

from models.people import users
from tests.support_people import snapshot, store

PATIENT = {"name": "Lena Fischer", "date_of_birth": "1987-03-14", "sex": "female",
           "email": "lena@example.org", "phone": "", "username": "lena.f"}


def setup_code(html):
    return re.search(rb'data-testid="setup-code">([A-Z0-9-]+)<', html).group(1).decode()


def test_registered_patient_must_set_a_password_at_first_login(app, client, auth, manager, org):
    auth.login(manager["username"])
    assert client.get("/organization/patients/new").status_code == 200
    response = client.post("/organization/patients/new", data=PATIENT)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    patient = store(app).users.find_one({"username": "lena.f"})
    assert patient["role"] == users.PATIENT and patient["human_id"].startswith("PAT-")
    assert patient["human_id"].encode() in response.data
    assert patient["must_set_password"] is True and patient["org_id"] is None
    assert patient["profile"] == {"date_of_birth": "1987-03-14", "sex": "female",
                                  "email": "lena@example.org", "phone": None,
                                  "registered_at": org["human_id"]}
    assert patient["created_by"] == manager["human_id"]
    code = setup_code(response.data)
    auth.logout()

    assert auth.login("lena.f", code).status_code == 302
    assert client.get("/patient/").headers["Location"] == "/password"
    response = client.post("/password", data={"password": "lena.f", "confirm": "lena.f"})
    assert response.status_code == 400
    client.post("/password", data={"password": "lena picks her own", "confirm": "lena picks her own"})
    assert store(app).users.find_one({"username": "lena.f"})["must_set_password"] is False
    auth.logout()
    assert auth.login("lena.f", code).status_code == 401  # the code no longer works
    assert auth.login("lena.f", "lena picks her own").status_code == 302


def test_the_setup_code_is_shown_once_and_never_stored(app, client, auth, manager):
    auth.login(manager["username"])
    response = client.post("/organization/patients/new", data=PATIENT)
    code = setup_code(response.data)
    patient = store(app).users.find_one({"username": "lena.f"})
    assert code not in str(patient)
    assert code.encode() not in client.get("/organization/").data


@pytest.mark.parametrize("field,value,status", [
    ("name", "", 400), ("date_of_birth", "", 400), ("date_of_birth", "2999-01-01", 400),
    ("date_of_birth", "1850-01-01", 400), ("sex", "robot", 400), ("email", "not-an-email", 400),
    ("username", "", 400), ("username", "manager.test", 409),
])
def test_bad_front_desk_input_creates_nothing(app, client, auth, manager, field, value, status):
    auth.login(manager["username"])
    before = snapshot(app)
    response = client.post("/organization/patients/new", data=dict(PATIENT, **{field: value}))
    assert response.status_code == status
    assert b"invalid-feedback" in response.data
    assert snapshot(app) == before


def test_a_contact_is_required(app, client, auth, manager):
    auth.login(manager["username"])
    before = snapshot(app)
    response = client.post("/organization/patients/new", data=dict(PATIENT, email="", phone=""))
    assert response.status_code == 400
    for field in (b"email", b"phone"):  # on both fields (and in the summary above the form)
        assert (b'id="' + field + b'-error" data-testid="field-error-' + field +
                b'">Give an e-mail address or a phone number.<') in response.data
    assert snapshot(app) == before

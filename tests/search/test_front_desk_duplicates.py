"""The front desk is warned before opening a second account for what may be the same person
(same name, accents and case aside, and same date of birth), and can confirm a different person."""
from models.people import users
from tests.support_people import store

NEW = {"name": "LENA FISCHER", "date_of_birth": "1987-03-14", "sex": "female",
       "email": "lena2@example.org", "phone": "", "username": "lena.again"}


def test_a_possible_duplicate_is_shown_and_needs_a_confirmation(app, client, auth, manager,
                                                                make_account):
    first = make_account(users.PATIENT, "lena", name="Léna Fischer",
                         profile={"date_of_birth": "1987-03-14", "sex": "female"})
    auth.login(manager["username"])
    form = client.get("/organization/patients/new")
    assert "confirm_new_person" not in form.text  # asked only about a possible duplicate
    warned = client.post("/organization/patients/new", data=NEW)
    assert warned.status_code == 409
    assert 'data-testid="possible-duplicate"' in warned.text
    assert first["human_id"] in warned.text and "Léna Fischer" in warned.text
    assert 'name="confirm_new_person"' in warned.text
    assert 'value="lena.again"' in warned.text  # nothing typed is lost
    assert store(app).users.find_one({"username": "lena.again"}) is None
    confirmed = client.post("/organization/patients/new", data=dict(NEW, confirm_new_person="y"))
    assert confirmed.status_code == 200 and 'data-testid="setup-code"' in confirmed.text
    assert store(app).users.find_one({"username": "lena.again"})["role"] == users.PATIENT


def test_another_birth_date_is_no_duplicate(app, client, auth, manager, make_account):
    make_account(users.PATIENT, "lena", name="Lena Fischer",
                 profile={"date_of_birth": "1990-01-01", "sex": "female"})
    auth.login(manager["username"])
    created = client.post("/organization/patients/new", data=NEW)
    assert created.status_code == 200 and 'data-testid="possible-duplicate"' not in created.text

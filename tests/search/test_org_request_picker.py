"""An organization manager finds the patient by name and date of birth before asking for
access; the chosen patient is named on the form, which asks for the patient first and refuses
a blank patient with a clear message."""
from models.people import users

BORN = "1975-12-24"


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def test_the_manager_finds_the_patient_and_the_form_names_them(world, client, auth, make_account):
    leonor = make_account(users.PATIENT, "leonor", name="Leonor García López",
                          profile={"date_of_birth": BORN, "sex": "female"})
    _login(auth, world.manager)
    page = client.get("/organization/requests", query_string={"q": "garcia lopez"})
    assert page.status_code == 200 and 'data-testid="patient-result"' in page.text
    assert f'/organization/requests?patient_id={leonor["human_id"]}' in page.text
    chosen = client.get("/organization/requests", query_string={"patient_id": leonor["human_id"]})
    assert "Leonor García López" in chosen.text and 'data-testid="patient-banner"' in chosen.text
    assert f'value="{leonor["human_id"]}"' in chosen.text
    form = chosen.text[chosen.text.index('data-testid="org-request-form"'):]
    assert form.index('name="patient_id"') < form.index('type="submit"')  # asked first
    sent = client.post("/organization/requests/new", data={
        "patient_id": leonor["human_id"], "scope": "types", "types": ["prescription"],
        "purpose": "treatment", "duration_days": "7"})
    assert sent.status_code == 302
    assert world.find_one("access_requests", {})["patient_id"] == leonor["human_id"]


def test_a_blank_patient_is_refused_on_its_field(world, client, auth):
    _login(auth, world.manager)
    blank = client.post("/organization/requests/new", data={
        "patient_id": "", "scope": "all", "purpose": "treatment", "duration_days": "7"})
    assert blank.status_code == 400 and "Choose the patient first" in blank.text
    assert world.count("access_requests") == 0

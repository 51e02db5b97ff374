"""A patient finds whom to share with by name, specialty or kind of organization, sees whom
they chose before sharing, and never has to know an id (typing one still works)."""
import pytest

from models.people import users


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


@pytest.fixture
def cardiologist(world, make_account):
    return make_account(users.DOCTOR, "heartley", name="Leo Heartley",
                        org_id=world.hospital_a["human_id"], profile={"specialty": "cardiology"})


def test_a_hospital_is_found_by_a_word_of_its_name(world, client, auth):
    _login(auth, world.patient)
    page = client.get("/patient/grants", query_string={"q": "saint anne", "kind": "hospital"})
    assert page.status_code == 200
    assert page.text.count('data-testid="grantee-result"') == 1
    assert "Saint Anne Hospital" in page.text and world.hospital_a["human_id"] in page.text
    assert f'grantee={world.hospital_a["human_id"]}' in page.text


def test_a_doctor_is_found_by_specialty_with_their_hospital(world, client, auth, cardiologist):
    _login(auth, world.patient)
    page = client.get("/patient/grants", query_string={"q": "cardio", "kind": "doctor"})
    assert page.text.count('data-testid="grantee-result"') == 1
    assert "Leo Heartley" in page.text and "Cardiology" in page.text
    assert "Saint Anne Hospital" in page.text
    chosen = client.get("/patient/grants", query_string={"specialty": "cardiology"})
    assert "Leo Heartley" in chosen.text


def test_a_search_that_says_nothing_is_refused_on_its_field(world, client, auth):
    _login(auth, world.patient)
    page = client.get("/patient/grants", query_string={"q": "", "kind": ""})
    assert page.status_code == 200 and 'aria-invalid="true"' in page.text
    assert "Type a name or a specialty" in page.text
    nobody = client.get("/patient/grants", query_string={"q": "zzyzx"})
    assert 'data-testid="no-grantees"' in nobody.text


def test_the_chosen_one_is_previewed_and_prefilled(world, client, auth, cardiologist):
    _login(auth, world.patient)
    page = client.get("/patient/grants", query_string={"grantee": cardiologist["human_id"]})
    preview = page.text[page.text.index('data-testid="grantee-preview"'):]
    preview = preview[:preview.index("</div>")]
    assert "Leo Heartley" in preview and "Cardiology" in preview and "Saint Anne" in preview
    assert f'value="{cardiologist["human_id"]}"' in page.text
    shared = client.post("/patient/grants/new", data={
        "grantee": cardiologist["human_id"], "scope": "all", "purpose": "treatment",
        "duration_days": "30"})
    assert shared.status_code == 302
    assert world.find_one("grants", {})["grantee_id"] == cardiologist["human_id"]


def test_an_unknown_choice_shows_no_preview(world, client, auth):
    _login(auth, world.patient)
    page = client.get("/patient/grants", query_string={"grantee": "DOC-999999"})
    assert page.status_code == 200 and 'data-testid="grantee-preview"' not in page.text


def test_a_manager_gives_a_new_doctor_a_specialty_patients_find_them_by(world, client, auth):
    _login(auth, world.manager_b)
    created = client.post("/organization/staff/new", data={
        "role": "doctor", "name": "Nora Nerve", "username": "nora", "specialty": "neurology"})
    assert created.status_code == 200
    doctor = world.find_one("users", {"username": "nora"})
    assert doctor["profile"]["specialty"] == "neurology"
    wrong = client.post("/organization/staff/new", data={
        "role": "pharmacist", "name": "Pia Pill", "username": "pia", "specialty": "neurology"})
    assert wrong.status_code == 400 and "Only doctors have a specialty" in wrong.text

"""The directory's pages (/directory): who may search and read, who may edit whose entry (by id),
"On call now" on the results with a fixed clock, and bad input on the edit forms (hypothesis):
400 with messages, never a 500, nothing written."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.care import doctor_directory
from models.core import clock
from models.people import users
from models.storage.db import get_db
from tests.care.conftest import MONDAY_NIGHT, utc
from tests.conftest import FORM_SETTINGS, PASSWORD

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
VALID_FORM = {"department": "Cardiology ward B", "phone": "+33 1 23 45 67 89",
              "extension": "4412", "email": "c.heartley@saint-anne.example",
              "day_1": "0", "start_1": "22:00", "end_1": "06:00"}


def login(client, account):
    response = client.post("/login", data={"username": account["username"], "password": PASSWORD})
    assert response.status_code == 302, response.data
    return account


def entries(app):
    return get_db(app).directory_entries.count_documents({})


def blocks(app):
    return get_db(app).ledger_blocks.count_documents({"kind": doctor_directory.UPDATED})


# Who may read ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["patient", "doctor", "pharmacist", "lab_tech", "manager_b",
                                  "admin"])
def test_patients_and_staff_search_and_read_the_directory(doctors, client, role):
    login(client, getattr(doctors.world, role))
    response = client.get("/directory/?specialty=cardiology")
    assert response.status_code == 200
    assert doctors.heartley["name"] in response.text and doctors.beats["name"] in response.text
    assert doctors.unverified["name"] not in response.text
    assert doctors.disabled["name"] not in response.text
    page = client.get(f"/directory/doctors/{doctors.heartley['human_id']}")
    assert page.status_code == 200 and "Saint Anne Hospital" in page.text


def test_front_desk_staff_read_the_directory(doctors, client, make_account):
    desk = make_account(users.FRONT_DESK, org_id=doctors.world.hospital_a["human_id"])
    login(client, desk)
    assert client.get("/directory/?name=nina").status_code == 200


def test_the_auditor_is_refused(doctors, client):
    """The auditor works on the ledger's pseudonyms: work contacts are none of its business."""
    login(client, doctors.world.auditor)
    assert client.get("/directory/?specialty=cardiology").status_code == 403
    assert client.get(f"/directory/doctors/{doctors.heartley['human_id']}").status_code == 403


def test_the_page_of_an_unlisted_doctor_is_not_found(doctors, client):
    login(client, doctors.world.patient)
    for human_id in (doctors.unverified["human_id"], doctors.disabled["human_id"], "DOC-999999",
                     doctors.world.patient["human_id"]):
        assert client.get(f"/directory/doctors/{human_id}").status_code == 404


def test_a_search_without_criteria_is_refused_with_a_message(doctors, client):
    login(client, doctors.world.patient)
    response = client.get("/directory/?name=&specialty=&org=")
    assert response.status_code == 400
    assert "Type a name, or choose a specialty or an organization." in response.text
    assert client.get("/directory/?specialty=astrology").status_code == 400


def test_no_clinical_or_patient_data_on_the_pages(doctors, client):
    world = doctors.world
    world.write(world.doctor, "diagnosis")
    login(client, world.patient)
    text = client.get("/directory/?org=" + world.hospital_a["human_id"]).text + \
        client.get(f"/directory/doctors/{world.doctor['human_id']}").text
    assert "Zebrafinch" not in text and world.other_patient["name"] not in text


# On call now, with a fixed clock ---------------------------------------------------------------

def test_results_show_on_call_now_as_text_and_a_class(doctors, client, monkeypatch):
    doctors.app.config["TIMEZONE"] = "Europe/Paris"
    doctors.edit(doctors.heartley, doctors.heartley, windows=MONDAY_NIGHT)
    doctors.edit(doctors.beats, doctors.beats, windows=[("1", "08:00", "12:00")])
    monkeypatch.setattr(clock, "now", lambda: utc(2026, 1, 6, 4, 30))  # Tuesday 05:30 Paris
    login(client, doctors.world.patient)
    html = client.get("/directory/?specialty=cardiology").text
    rows = {row.split('data-doctor-id="')[1].split('"')[0]: row
            for row in html.split('data-testid="directory-result"')[1:]}
    assert "On call now" in rows[doctors.heartley["human_id"]]
    assert "is-on-call" in html.split(f'data-doctor-id="{doctors.heartley["human_id"]}"')[0] \
        .rsplit("<li", 1)[1]
    assert "On call now" not in rows[doctors.beats["human_id"]]
    only = client.get("/directory/?specialty=cardiology&on_call=y").text
    assert doctors.heartley["name"] in only and doctors.beats["name"] not in only
    page = client.get(f"/directory/doctors/{doctors.heartley['human_id']}").text
    assert "On call now" in page and "(next day)" in page and "Monday" in page


# The doctor's page -----------------------------------------------------------------------------

def test_a_patient_is_offered_booking_and_staff_are_not(doctors, client):
    human_id = doctors.heartley["human_id"]
    login(client, doctors.world.patient)
    assert f'href="/appointments/book/{human_id}"' in \
        client.get(f"/directory/doctors/{human_id}").text
    client.post("/logout")
    login(client, doctors.world.doctor)
    assert "/appointments/book/" not in client.get(f"/directory/doctors/{human_id}").text


# Editing, by id --------------------------------------------------------------------------------

def test_a_doctor_edits_their_own_entry_at_me(doctors, client):
    login(client, doctors.heartley)
    assert client.get("/directory/me").status_code == 200
    response = client.post("/directory/me", data=VALID_FORM)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/directory/doctors/{doctors.heartley['human_id']}")
    page = client.get(response.headers["Location"]).text
    assert "Cardiology ward B" in page and "ext. 4412" in page and "Version 1" in page
    form = client.get("/directory/me").text  # the form starts from the current version
    assert 'value="Cardiology ward B"' in form and 'value="22:00"' in form
    assert client.post("/directory/me", data=dict(VALID_FORM, extension="")).status_code == 302
    assert entries(doctors.app) == 2 and blocks(doctors.app) == 2


def test_a_manager_edits_their_doctors_entry(doctors, client):
    login(client, doctors.manager_a)
    url = f"/directory/doctors/{doctors.heartley['human_id']}/edit"
    assert client.get(url).status_code == 200
    assert client.post(url, data=VALID_FORM).status_code == 302
    assert get_db(doctors.app).directory_entries.find_one()["by"] == doctors.manager_a["human_id"]


@pytest.mark.parametrize("who", ["manager_b", "colleague"])
def test_another_hospitals_manager_or_a_colleague_cannot_edit(doctors, client, who):
    """Manager of hospital B on a hospital-A doctor; a hospital-A doctor on a colleague."""
    login(client, getattr(doctors.world, who))
    url = f"/directory/doctors/{doctors.heartley['human_id']}/edit"
    assert client.get(url).status_code == 403
    assert client.post(url, data=VALID_FORM).status_code == 403
    assert entries(doctors.app) == 0


@pytest.mark.parametrize("role", ["patient", "pharmacist", "lab_tech", "admin", "auditor"])
def test_every_other_role_is_refused_the_editors(doctors, client, role):
    login(client, getattr(doctors.world, role))
    url = f"/directory/doctors/{doctors.heartley['human_id']}/edit"
    assert client.get(url).status_code == 403
    assert client.post(url, data=VALID_FORM).status_code == 403
    assert client.post("/directory/me", data=VALID_FORM).status_code == 403
    assert entries(doctors.app) == 0


def test_editing_an_unknown_doctor_is_not_found(doctors, client):
    login(client, doctors.manager_a)
    assert client.get("/directory/doctors/DOC-999999/edit").status_code == 404
    assert client.get(f"/directory/doctors/{doctors.world.patient['human_id']}/edit").status_code \
        == 404


# Bad input (hypothesis) ------------------------------------------------------------------------

def bad_value(name):
    if name == "phone":
        return st.one_of(st.sampled_from(["call me", "12", "+1 (555) 0100 ext 3", "1+2345678",
                                          "9" * 21]), st.from_regex(r"\A[a-z]{3,10}\Z"))
    if name == "extension":
        return st.sampled_from(["12a", "1234567", "-1", "1 2", "#12"])
    if name == "email":
        return st.sampled_from(["nobody", "a@b", "@hospital.example", "a b@c.example",
                                "x" * 250 + "@h.example", "name@@hospital.example"])
    if name == "department":
        return st.sampled_from(["x" * 81, "ward\x01three", "tab\x00null"])
    if name.startswith("day_"):
        return st.sampled_from(["7", "-1", "monday", "1.0", "9"])
    return st.sampled_from(["24:00", "8:00", "08:60", "noon", "0800", "08:00:00"])


FIELDS = ["department", "phone", "extension", "email", "day_1", "start_1", "end_1", "day_2",
          "start_2", "end_2"]


@st.composite
def hostile_form(draw):
    """A submission whose rows are complete (so only the chosen field is wrong) with one field
    certainly invalid."""
    values = dict(VALID_FORM, day_2="3", start_2="09:00", end_2="17:00")
    target = draw(st.sampled_from(FIELDS))
    values[target] = draw(bad_value(target))
    return target, values


def test_hostile_input_to_the_edit_form_is_refused_with_its_field_named(doctors, client):
    login(client, doctors.manager_a)
    url = f"/directory/doctors/{doctors.heartley['human_id']}/edit"

    @FORM_SETTINGS
    @given(case=hostile_form())
    def check(case):
        target, values = case
        response = client.post(url, data=values)
        assert response.status_code == 400, values
        assert f'data-testid="field-error-{target}"' in response.text, values
        assert 'data-testid="error-summary"' in response.text
        assert entries(doctors.app) == 0 and blocks(doctors.app) == 0

    check()


def test_any_input_is_saved_once_or_refused_never_a_500(doctors, client):
    login(client, doctors.heartley)

    @FORM_SETTINGS
    @given(values=st.fixed_dictionaries({name: TEXT for name in FIELDS}))
    def check(values):
        before = entries(doctors.app)
        response = client.post("/directory/me", data=values)
        assert response.status_code in (302, 400), values
        assert entries(doctors.app) == before + (1 if response.status_code == 302 else 0)
        assert blocks(doctors.app) == entries(doctors.app)

    check()


def test_an_incomplete_window_names_its_missing_parts(doctors, client):
    login(client, doctors.heartley)
    response = client.post("/directory/me", data=dict(VALID_FORM, day_2="2", start_2="",
                                                      end_2=""))
    assert response.status_code == 400
    assert 'data-testid="field-error-start_2"' in response.text
    assert 'data-testid="field-error-end_2"' in response.text
    assert entries(doctors.app) == 0


def test_editors_see_every_version_and_readers_do_not(doctors, client):
    doctors.edit(doctors.heartley, doctors.heartley, department="Ward one")
    doctors.edit(doctors.manager_a, doctors.heartley, department="Ward two")
    url = f"/directory/doctors/{doctors.heartley['human_id']}"
    login(client, doctors.manager_a)
    page = client.get(url).text
    assert page.count('data-testid="entry-version-row"') == 2
    assert "Ward one" in page and doctors.manager_a["human_id"] in page
    client.post("/logout")
    login(client, doctors.world.patient)
    page = client.get(url).text
    assert "entry-version-row" not in page and "Ward one" not in page and "Ward two" in page


def test_the_managers_menu_opens_their_organizations_doctors(doctors, client):
    login(client, doctors.manager_a)
    home = client.get("/organization/").text
    link = f'/directory/?org={doctors.world.hospital_a["human_id"]}'
    assert link in home
    listed = client.get(link).text
    assert doctors.heartley["name"] in listed and doctors.beats["name"] not in listed

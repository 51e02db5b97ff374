"""Doctors and lab technicians find a patient by name and date of birth (an id still opens the
patient at once); every page about a patient carries the banner that says who it is."""
import pytest

from models.people import users

BORN = "1980-03-02"


@pytest.fixture
def garcias(make_account):
    return [make_account(users.PATIENT, "leo", name="Leo García",
                         profile={"date_of_birth": BORN, "sex": "male",
                                  "email": "leo@example.org"}),
            make_account(users.PATIENT, "leo2", name="Léo Garcia",
                         profile={"date_of_birth": "1991-07-30", "sex": "male"})]


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def test_a_doctor_finds_a_patient_by_name_whatever_the_accents(world, client, auth, garcias):
    _login(auth, world.doctor)
    page = client.get("/doctor/patients", query_string={"q": "LEO GARCÍA"})
    assert page.status_code == 200
    assert page.text.count('data-testid="patient-result"') == 2
    for patient in garcias:
        assert f'/doctor/patients/{patient["human_id"]}' in page.text
        assert patient["human_id"] in page.text  # the id stays visible, beside the name
    assert "leo@example.org" not in page.text


def test_the_date_of_birth_narrows_to_one_patient(world, client, auth, garcias):
    _login(auth, world.doctor)
    page = client.get("/doctor/patients", query_string={"q": "leo garcia", "date_of_birth": BORN})
    assert page.status_code == 200 and page.text.count('data-testid="patient-result"') == 1
    assert garcias[0]["human_id"] in page.text and garcias[1]["human_id"] not in page.text
    assert "1980-03-02" in page.text


def test_no_match_says_so_and_a_bad_query_is_shown_on_its_field(world, client, auth, garcias):
    _login(auth, world.doctor)
    page = client.get("/doctor/patients", query_string={"q": "Zed Nobody"})
    assert page.status_code == 200 and 'data-testid="no-results"' in page.text
    bad = client.get("/doctor/patients", query_string={"q": "leo", "date_of_birth": "02/03/1980"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    assert 'aria-invalid="true"' in bad.text
    empty = client.get("/doctor/patients", query_string={"q": ""})
    assert empty.status_code == 400
    assert client.get("/doctor/patients").status_code == 200  # the empty form


def test_a_patient_id_typed_in_the_search_opens_the_patient(world, client, auth):
    _login(auth, world.doctor)
    found = client.get("/doctor/patients", query_string={"q": world.patient["human_id"].lower()})
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/doctor/patients/{world.patient['human_id']}")
    assert client.get("/doctor/patients", query_string={"q": "PAT-999999"}).status_code == 404


def test_a_lab_technician_finds_a_patient_by_name(world, client, auth, garcias):
    _login(auth, world.lab_tech)
    page = client.get("/staff/lab/patients", query_string={"q": "garcia", "date_of_birth": BORN})
    assert page.status_code == 200
    assert f'/staff/lab/patients/{garcias[0]["human_id"]}/reports/new' in page.text


# The patient banner -------------------------------------------------------------------------

def _banner(text):
    start = text.index('data-testid="patient-banner"')
    return text[start:text.index("</section>", start)]


def test_every_doctor_page_about_a_patient_carries_the_banner(world, client, auth, garcias):
    leo = garcias[0]
    world.grant(world.doctor["human_id"], patient=leo)
    doc = world.write(world.doctor, "note", patient=leo)
    _login(auth, world.doctor)
    pid = leo["human_id"]
    for url in (f"/doctor/patients/{pid}", f"/doctor/patients/{pid}/request-access",
                f"/doctor/patients/{pid}/emergency", f"/doctor/patients/{pid}/records/new/note",
                f"/doctor/records/{doc['record_id']}/v1",
                f"/doctor/records/{doc['record_id']}/v1/amend"):
        page = client.get(url)
        assert page.status_code == 200, url
        banner = _banner(page.text)
        for shown in ("Leo García", BORN, "Male", pid, "years"):
            assert shown in banner, (url, shown)
        assert "leo@example.org" not in page.text


def test_the_patient_sees_their_own_banner(world, client, auth, garcias):
    _login(auth, garcias[0])
    assert "Leo García" in _banner(client.get("/patient/").text)


def test_a_pharmacist_sees_the_patients_name_on_a_prescription(world, client, auth, garcias):
    leo = garcias[0]
    rx = world.write(world.doctor, "prescription", patient=leo)
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"],
                patient=leo)
    _login(auth, world.pharmacist)
    listing = client.get("/staff/")
    assert "Leo García" in listing.text and BORN in listing.text
    page = client.get(f"/staff/records/{rx['record_id']}/v1")
    assert page.status_code == 200
    assert "Leo García" in _banner(page.text) and leo["human_id"] in _banner(page.text)


def test_the_administrator_finds_accounts_by_name(world, client, auth, garcias):
    _login(auth, world.admin)
    page = client.get("/admin/accounts", query_string={"q": "leo garcia"})
    assert page.status_code == 200 and page.text.count('data-testid="account-found"') == 2
    assert all(patient["human_id"] in page.text for patient in garcias)
    short = client.get("/admin/accounts", query_string={"q": "x"})
    assert short.status_code == 400 and 'aria-invalid="true"' in short.text


def test_the_lab_lists_its_reports_by_patient_name(world, client, auth, garcias):
    world.grant(world.lab["human_id"], scope_kind="types", types=["lab_report"],
                patient=garcias[0])
    world.write(world.lab_tech, "lab_report", patient=garcias[0])
    _login(auth, world.lab_tech)
    assert "Leo García" in client.get("/staff/").text


def test_every_page_of_the_patients_own_carries_their_banner(world, client, auth, garcias):
    _login(auth, garcias[0])
    for url in ("/patient/", "/patient/grants", "/patient/access-log", "/patient/emergencies",
                "/patient/documents/new"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "Leo García" in _banner(page.text) and BORN in _banner(page.text), url

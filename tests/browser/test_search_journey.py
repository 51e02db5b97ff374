"""Names instead of ids, in Debian's chromium against a live server (CSRF on): a patient shares
with a hospital found by name, a doctor finds a patient by name and date of birth, and a
pharmacist sees the patient's name on a prescription."""
import re

from playwright.sync_api import expect

from models.clinical import records
from models.people import organizations, users
from models.storage.db import get_db
from tests.browser.journey import PASSWORD, sign_in, sign_out

BORN = "1980-03-02"
PRESCRIPTION = {"medication": "Amoxicillin", "strength": "500 mg", "dose": "1 capsule",
                "route": "oral", "frequency": "three times a day", "duration_days": "7",
                "quantity": "21", "refills": "0", "instructions": "After meals"}


def set_up_world(live_server):
    """Two hospitals, a pharmacy, a doctor, a pharmacist, and two patients called Leo García
    (born on different days), the first with a prescription."""
    app = live_server.app()
    with app.app_context():
        db = get_db()
        key = app.extensions["medledger"]["data_key"]
        hospital = organizations.create(db, name="Saint Anne Hospital", kind=organizations.HOSPITAL)
        organizations.create(db, name="Riverside Clinic", kind=organizations.CLINIC)
        pharmacy = organizations.create(db, name="Corner Pharmacy", kind=organizations.PHARMACY)
        doctor = users.create_user(db, username="dana", role=users.DOCTOR, name="Dana Doctor",
                                   password=PASSWORD, rounds=4, org_id=hospital["human_id"],
                                   verified=True)
        users.create_user(db, username="paul", role=users.PHARMACIST, name="Paul Pharmacist",
                          password=PASSWORD, rounds=4, org_id=pharmacy["human_id"])
        leo = users.create_user(db, username="leo", role=users.PATIENT, name="Leo García",
                                password=PASSWORD, rounds=4,
                                profile={"date_of_birth": BORN, "sex": "male"})
        namesake = users.create_user(db, username="leo2", role=users.PATIENT, name="Leo Garcia",
                                     password=PASSWORD, rounds=4,
                                     profile={"date_of_birth": "1991-07-30", "sex": "male"})
        rx = records.create(db, key, author=doctor, patient_id=leo["human_id"],
                            type_name="prescription", raw=PRESCRIPTION,
                            max_bytes=app.config["MAX_ATTACHMENT_BYTES"])
    return {"leo": leo["human_id"], "namesake": namesake["human_id"], "rx": rx["record_id"],
            "hospital": hospital["human_id"], "pharmacy": pharmacy["human_id"]}


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def share_with(page, search_text, kind, name):
    """On the sharing page: search, choose `name` from the results, and share everything."""
    search = page.get_by_test_id("grantee-search")
    search.get_by_label("Name or specialty").fill(search_text)
    search.get_by_label("Who").select_option(kind)
    search.get_by_role("button", name="Search").click()
    result = page.get_by_test_id("grantee-result").filter(has_text=name)
    expect(result).to_have_count(1)
    result.get_by_role("link", name=re.compile("Choose")).click()
    expect(page.get_by_test_id("grantee-preview")).to_contain_text(name)


def test_a_patient_shares_with_a_hospital_found_by_name(page, live_server, tmp_path):
    ids = set_up_world(live_server)
    sign_in(page, live_server, "leo")
    page.get_by_test_id("nav-patient-grants").click()
    share_with(page, "saint anne", "hospital", "Saint Anne Hospital")
    shot(page, tmp_path, "patient-chose-hospital")
    form = page.get_by_test_id("grant-form")
    form.get_by_label("Access to").select_option("all")
    form.get_by_role("button", name="Share").click()
    expect(page.get_by_role("alert").filter(has_text="You shared with Saint Anne Hospital")) \
        .to_be_visible()
    row = page.get_by_test_id("grant-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Saint Anne Hospital")
    expect(row).to_contain_text(ids["hospital"])


def test_a_doctor_finds_a_patient_by_name_and_date_of_birth(page, live_server, tmp_path):
    ids = set_up_world(live_server)
    sign_in(page, live_server, "dana")
    expect(page).to_have_url(re.compile(r"/doctor/$"))
    search = page.get_by_test_id("patient-search")
    search.get_by_label("Name or patient id").fill("LEO GARCIA")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("patient-result")).to_have_count(2)  # two Leo Garcías
    search = page.get_by_test_id("patient-search")
    search.get_by_label("Date of birth").fill(BORN)
    search.get_by_role("button", name="Search").click()
    result = page.get_by_test_id("patient-result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text(ids["leo"])
    shot(page, tmp_path, "doctor-found-patient")
    result.get_by_role("link", name="Leo García").click()
    expect(page).to_have_url(f"{live_server.url}/doctor/patients/{ids['leo']}")
    banner = page.get_by_test_id("patient-banner")
    expect(banner).to_contain_text("Leo García")
    expect(banner).to_contain_text(BORN)
    expect(banner).to_contain_text("Male")
    expect(banner).to_contain_text(ids["leo"])


def test_a_pharmacist_sees_the_patients_name_on_a_prescription(page, live_server, tmp_path):
    ids = set_up_world(live_server)
    sign_in(page, live_server, "leo")
    page.get_by_test_id("nav-patient-grants").click()
    share_with(page, "corner", "pharmacy", "Corner Pharmacy")
    form = page.get_by_test_id("grant-form")
    form.get_by_label("Access to").select_option("types")
    form.get_by_label("Prescription", exact=True).check()
    form.get_by_role("button", name="Share").click()
    expect(page.get_by_test_id("grant-row")).to_have_count(1)
    sign_out(page)

    sign_in(page, live_server, "paul")
    row = page.locator(f'[data-testid="prescription-row"][data-record-id="{ids["rx"]}"]')
    expect(row.get_by_test_id("prescription-patient")).to_contain_text("Leo García")
    expect(row.get_by_test_id("prescription-patient")).to_contain_text(BORN)
    row.get_by_test_id("open-prescription").click()
    banner = page.get_by_test_id("patient-banner")
    expect(banner).to_contain_text("Leo García")
    expect(banner).to_contain_text(ids["leo"])
    expect(page.get_by_test_id("record-card")).to_contain_text("Amoxicillin")
    shot(page, tmp_path, "pharmacist-prescription-with-name")

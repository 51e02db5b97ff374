"""The admission journey of issue 12, in Debian's chromium against a live server (CSRF on):
the front desk finds the patient and admits her, moves her to another ward, discharges her;
the attending doctor writes the discharge summary from the admission; the patient sees her
stay and reads the summary."""
import re

from playwright.sync_api import expect

from models.storage.db import get_db
from tests.browser.journey import front_desk, hospital_people, sign_in, sign_out

REASON = "Shortness of breath, journey test"


def set_up_world(live_server):
    app = live_server.app()
    with app.app_context():
        db = get_db()
        org, doctor, _, patient = hospital_people(db)
        front_desk(db, org, "fred", "Fred Desk")
    return {"doctor": doctor["human_id"], "patient": patient["human_id"]}


def test_desk_admits_transfers_discharges_and_the_doctor_writes_the_summary(page, live_server):
    ids = set_up_world(live_server)

    # 1. The front desk finds Paula and admits her under Dr Dana.
    sign_in(page, live_server, "fred")
    expect(page).to_have_url(re.compile(r"/desk/$"))
    page.get_by_test_id("desk-admit").click()
    search = page.get_by_test_id("admit-search")
    search.get_by_label("Name or patient id").fill("Paula")
    search.get_by_role("button", name="Search").click()
    page.get_by_test_id("admit-results").get_by_role("link", name="Paula Patient").click()
    form = page.get_by_test_id("admit-form")
    expect(form.get_by_label("Patient id", exact=True)).to_have_value(ids["patient"])
    form.get_by_label("Ward").fill("Cardiology")
    form.get_by_label("Bed").fill("4")
    form.get_by_label("Attending doctor").select_option(ids["doctor"])
    form.get_by_label("Reason for admission").fill(REASON)
    form.get_by_role("button", name="Admit").click()
    expect(page).to_have_url(re.compile(r"/admissions/ADN-\d{6}$"))
    admission_id = page.get_by_test_id("admission-id").inner_text().strip()
    expect(page.get_by_test_id("admission-place")).to_have_text("Cardiology, bed 4")
    expect(page.get_by_text(REASON)).to_have_count(0)   # the desk does not read it back

    # 2. She moves to surgery, then goes home.
    transfer = page.get_by_test_id("transfer-form")
    transfer.get_by_label("New ward").fill("Surgery")
    transfer.get_by_label("New bed").fill("2")
    transfer.get_by_role("button", name="Transfer").click()
    expect(page.get_by_test_id("admission-place")).to_have_text("Surgery, bed 2")
    expect(page.get_by_test_id("movement-row")).to_have_count(2)
    page.get_by_test_id("nav-desk-board").click()
    expect(page.get_by_test_id("board-row")).to_contain_text("Paula Patient")
    page.go_back()
    discharge = page.get_by_test_id("discharge-form")
    discharge.get_by_label("Destination").select_option("home")
    page.once("dialog", lambda dialog: dialog.accept())
    discharge.get_by_role("button", name="Discharge").click()
    expect(page.get_by_test_id("admission-discharged")).to_contain_text("Home")
    sign_out(page)

    # 3. Dr Dana is told, and writes the summary from the admission.
    sign_in(page, live_server, "dana")
    page.get_by_test_id("nav-doctor-inpatients").click()
    page.get_by_test_id("write-summary").click()
    expect(page.get_by_test_id("summary-prefill")).to_contain_text(REASON)
    summary = page.get_by_test_id("summary-form")
    summary.get_by_label("Diagnosis on discharge").fill("Community pneumonia")
    summary.get_by_label("Course in hospital").fill("Improved on oral antibiotics.")
    summary.get_by_label("Follow-up").fill("Chest X-ray in six weeks.")
    summary.get_by_role("button", name="Save the discharge summary").click()
    expect(page.get_by_text(f"of {admission_id} is saved")).to_be_visible()
    expect(page.get_by_test_id("summary-row")).to_have_count(0)
    sign_out(page)

    # 4. Paula sees her stay and reads the summary.
    sign_in(page, live_server, "paula")
    page.get_by_test_id("nav-patient-stays").click()
    row = page.get_by_test_id("stay-row")
    expect(row).to_contain_text(admission_id)
    expect(row).to_contain_text("Surgery, 2")
    row.get_by_test_id("stay-summary").click()
    expect(page.get_by_text("Community pneumonia")).to_be_visible()
    expect(page.get_by_text(admission_id).first).to_be_visible()

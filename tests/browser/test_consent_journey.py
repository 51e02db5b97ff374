"""The consent journey of issue 4, in Debian's chromium against a live server (CSRF on).

A doctor writes a general record (theirs to read by rule 1), asks for the patient's other
records (one by another doctor, one the patient provided), the patient approves for 1 day,
the doctor reads, the patient revokes, the doctor is refused, and the patient sees the read.
"""
import re

from playwright.sync_api import expect

from models.clinical import records
from models.storage.db import get_db
from tests.browser.journey import hospital_people, sign_in, sign_out

DIAGNOSIS = {"code": "I10", "description": "Essential hypertension, journey test",
             "clinical_status": "active", "onset": "2021-05-04"}
SYMPTOMS = {"title": "Headaches since March", "symptoms": "Morning headaches, worse when tired."}


def set_up_world(live_server):
    """A hospital, the doctor of the journey, a colleague who already wrote a diagnosis for
    the patient, and the patient with a document of her own. Returns the ids the test needs."""
    app = live_server.app()
    with app.app_context():
        db = get_db()
        key = app.extensions["medledger"]["data_key"]
        limit = app.config["MAX_ATTACHMENT_BYTES"]
        org, doctor, colleague, patient = hospital_people(db)
        diagnosis = records.create(db, key, author=colleague, patient_id=patient["human_id"],
                                   type_name="diagnosis", raw=DIAGNOSIS, max_bytes=limit)
        document = records.create(db, key, author=patient, patient_id=patient["human_id"],
                                  type_name="patient_provided", raw=SYMPTOMS, max_bytes=limit)
    return {"doctor": doctor["human_id"], "patient": patient["human_id"], "org": org["human_id"],
            "diagnosis": diagnosis["record_id"], "document": document["record_id"]}


def row_of(page, record_id):
    return page.locator(f'.list-group-item[data-record-id="{record_id}"]')


def hidden_reason(page, record_id):
    return row_of(page, record_id).get_by_test_id("hidden-reason")


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_patient_approves_then_revokes_a_doctors_access(page, live_server, tmp_path):
    ids = set_up_world(live_server)
    patient_page = f"{live_server.url}/doctor/patients/{ids['patient']}"

    # 1. The doctor finds the patient: the other records are hidden, and say why.
    sign_in(page, live_server, "dana")
    expect(page).to_have_url(re.compile(r"/doctor/$"))
    page.get_by_test_id("patient-search").get_by_label("Patient id").fill(ids["patient"])
    page.get_by_test_id("patient-search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(patient_page)
    for record_id in (ids["diagnosis"], ids["document"]):
        expect(hidden_reason(page, record_id)).to_have_text("Hidden: no consent")
    expect(page.get_by_text(DIAGNOSIS["description"])).to_have_count(0)

    # ... and writes a general record, which she may read as its author.
    page.get_by_test_id("new-general").click()
    page.get_by_label("Weight (kg)").fill("72.5")
    page.get_by_label("Height (cm)").fill("170.0")
    page.get_by_label("Blood pressure, systolic (mmHg)").fill("128")
    page.get_by_label("Blood pressure, diastolic (mmHg)").fill("82")
    page.get_by_label("Heart rate (beats/min)").fill("71")
    page.get_by_role("button", name="Save record").click()
    expect(page).to_have_url(re.compile(rf"/doctor/records/{ids['patient']}-R\d+/v1$"))
    card = page.get_by_test_id("record-card")
    expect(card).to_contain_text("General (vitals)")
    expect(card).to_contain_text("25.1")  # BMI computed by the app: 72.5 / 1.70²
    expect(page.get_by_test_id("read-basis")).to_contain_text("you wrote it")
    general_id = card.locator(".mono").first.inner_text().strip()
    shot(page, tmp_path, "1-doctor-wrote-general-record")

    # 2. She asks for the patient's history (all record types, for a week).
    page.goto(patient_page)
    expect(row_of(page, general_id).get_by_test_id("open-record")).to_be_visible()
    page.get_by_test_id("request-access").click()
    page.get_by_label("Access to").select_option("all")
    page.get_by_label("Purpose").select_option("treatment")
    page.get_by_label("For how long").select_option("7")
    page.get_by_label("Message to the patient").fill("Follow-up of your blood pressure.")
    page.get_by_role("button", name="Send request").click()
    expect(page).to_have_url(patient_page)
    expect(page.get_by_test_id("pending-own-request")).to_have_count(1)
    shot(page, tmp_path, "2-doctor-requested-access")
    sign_out(page)

    # 3. The patient sees the request as soon as she logs in and approves it for 1 day.
    sign_in(page, live_server, "paula")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    request_card = page.get_by_test_id("pending-request")
    expect(request_card).to_have_count(1)
    expect(request_card).to_contain_text(ids["doctor"])
    expect(request_card).to_contain_text("Follow-up of your blood pressure.")
    shot(page, tmp_path, "3-patient-sees-pending-request")
    request_card.get_by_test_id("approve-duration").select_option("1")
    request_card.get_by_test_id("approve-button").click()
    expect(page.get_by_role("alert").filter(has_text="You approved")).to_be_visible()
    expect(page.get_by_test_id("pending-request")).to_have_count(0)
    page.get_by_test_id("nav-patient-grants").click()
    grant_row = page.get_by_test_id("grant-row")
    expect(grant_row).to_have_count(1)
    expect(grant_row.locator("[data-state]")).to_have_text("approved")
    period = grant_row.locator("td").nth(3).inner_text()
    start, end = re.findall(r"(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}", period)
    assert start != end, "a 1-day grant ends the day after it starts"
    sign_out(page)

    # 4. The doctor reads the colleague's diagnosis and the patient's own document.
    sign_in(page, live_server, "dana")
    page.goto(patient_page)
    expect(page.get_by_test_id("active-grant")).to_have_count(1)
    expect(page.get_by_test_id("hidden-reason")).to_have_count(0)
    row_of(page, ids["diagnosis"]).get_by_test_id("open-record").click()
    expect(page.get_by_test_id("record-card")).to_contain_text(DIAGNOSIS["description"])
    expect(page.get_by_test_id("read-basis")).to_contain_text("the patient shared it with you")
    shot(page, tmp_path, "4-doctor-reads-under-grant")
    page.goto(patient_page)
    row_of(page, ids["document"]).get_by_test_id("open-record").click()
    expect(page.get_by_test_id("record-card")).to_contain_text(SYMPTOMS["symptoms"])
    expect(page.get_by_test_id("patient-provided-label")).to_be_visible()
    sign_out(page)

    # 5. The patient revokes the grant: the browser asks first; "Cancel" changes nothing.
    sign_in(page, live_server, "paula")
    page.get_by_test_id("nav-patient-grants").click()
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_test_id("grant-row").get_by_test_id("revoke-button").click()
    expect(page.get_by_test_id("grant-row").locator("[data-state]")).to_have_text("approved")
    assert len(questions) == 1 and "Dana Doctor" in questions[0]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("grant-row").get_by_test_id("revoke-button").click()
    expect(page.get_by_role("alert").filter(has_text="is revoked")).to_be_visible()
    expect(page.get_by_test_id("grant-row").locator("[data-state]")).to_have_text("revoked")
    expect(page.get_by_test_id("revoke-button")).to_have_count(0)
    sign_out(page)

    # 6. The doctor is refused: the rows say "revoked", and the record's address answers 403.
    sign_in(page, live_server, "dana")
    page.goto(patient_page)
    for record_id in (ids["diagnosis"], ids["document"]):
        expect(hidden_reason(page, record_id)).to_have_text("Hidden: revoked")
    expect(row_of(page, general_id).get_by_test_id("open-record")).to_be_visible()
    response = page.goto(f"{live_server.url}/doctor/records/{ids['diagnosis']}/v1")
    assert response.status == 403
    expect(page.get_by_test_id("error-page")).to_contain_text("revoked")
    expect(page.get_by_text(DIAGNOSIS["description"])).to_have_count(0)
    shot(page, tmp_path, "6-doctor-refused-after-revocation")
    sign_out(page)

    # 7. "Who saw my records" lists the doctor's reads (not the refused one), with the grant.
    sign_in(page, live_server, "paula")
    page.get_by_test_id("nav-patient-who-saw").click()
    rows = page.locator(f'[data-testid="who-saw-row"][data-viewer="{ids["doctor"]}"]')
    expect(rows).to_have_count(3)  # her own general record, the diagnosis, the document
    diagnosis_read = rows.and_(page.locator(f'[data-record-id="{ids["diagnosis"]}"]'))
    expect(diagnosis_read).to_have_count(1)
    expect(diagnosis_read).to_contain_text("Dana Doctor")
    expect(diagnosis_read).to_contain_text("St. Mary Hospital")
    expect(diagnosis_read).to_contain_text("with your permission")
    expect(rows.and_(page.locator(f'[data-record-id="{general_id}"]'))).to_contain_text("they wrote it")
    shot(page, tmp_path, "7-patient-who-saw-my-records")

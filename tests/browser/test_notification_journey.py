"""A patient is told that a doctor read her record, in Debian's chromium against a live server
(CSRF on): the doctor reads a diagnosis under the patient's grant; the patient's navbar counts
one unread notification; she opens it and lands on "who saw my records" for that doctor, and
the count is gone. The notification names the doctor and the record, never its contents."""
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from models.clinical import records
from models.consent import workflow as consent
from models.storage.db import get_db
from tests.browser.journey import hospital_people, sign_in, sign_out

DIAGNOSIS = {"code": "I10", "description": "Essential hypertension, notification journey",
             "clinical_status": "active", "onset": "2021-05-04"}


def set_up_world(live_server):
    """A hospital, a doctor, another doctor's diagnosis for the patient, and the patient's
    grant to the doctor (so the doctor's read is allowed, and is news to the patient)."""
    app = live_server.app()
    with app.app_context():
        db = get_db()
        org, doctor, colleague, patient = hospital_people(db)
        diagnosis = records.create(db, app.extensions["medledger"]["data_key"], author=colleague,
                                   patient_id=patient["human_id"], type_name="diagnosis",
                                   raw=DIAGNOSIS, max_bytes=app.config["MAX_ATTACHMENT_BYTES"])
        consent.grant_proactively(db, patient=patient, grantee=doctor["human_id"],
                                  scope_kind="all", type_names=[], record_text="",
                                  purpose="treatment", duration_days=7, one_time=False)
    return {"doctor": doctor["human_id"], "diagnosis": diagnosis["record_id"]}


WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def assert_accessible(page):
    """axe-core over the page's own content (the shared navbar is scanned by the
    accessibility walk), at the WCAG 2.2 AA tags."""
    results = Axe().run(page, context={"include": [["main"]]},
                        options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    assert results.violations_count == 0, results.generate_report()


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_patient_is_notified_of_a_read_and_opens_it(page, live_server, tmp_path):
    ids = set_up_world(live_server)

    # 1. The patient has nothing new yet: the bell, no number.
    sign_in(page, live_server, "paula")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    expect(page.get_by_test_id("nav-notifications")).to_be_visible()
    expect(page.get_by_test_id("notification-count")).to_have_count(0)
    sign_out(page)

    # 2. The doctor reads the diagnosis under the grant.
    sign_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/doctor/records/{ids['diagnosis']}/v1")
    expect(page.get_by_test_id("record-card")).to_contain_text(DIAGNOSIS["description"])
    sign_out(page)

    # 3. The patient's navbar counts one unread notification; the list says who read what.
    sign_in(page, live_server, "paula")
    bell = page.get_by_test_id("nav-notifications")
    expect(bell.get_by_test_id("notification-count")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    bell.click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    note = page.get_by_test_id("notification")
    expect(note).to_have_count(1)
    expect(note).to_have_attribute("data-read", "no")
    expect(note.get_by_test_id("notification-text")).to_contain_text("Dana Doctor")
    expect(note.get_by_test_id("notification-text")).to_contain_text(
        f"read your record Diagnosis {ids['diagnosis']} v1")
    expect(note).not_to_contain_text(DIAGNOSIS["description"])
    expect(note.get_by_test_id("open-notification")).to_have_accessible_description(
        re.compile("Dana Doctor .* read your record"))
    shot(page, tmp_path, "1-patient-notification-of-a-read")
    assert_accessible(page)

    # 4. Opening it marks it read and leads to "who saw my records" for that doctor.
    note.get_by_test_id("open-notification").click()
    expect(page).to_have_url(re.compile(rf"/patient/access-log\?viewer={ids['doctor']}$"))
    row = page.locator(f'[data-testid="who-saw-row"][data-record-id="{ids["diagnosis"]}"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Dana Doctor")
    expect(page.get_by_test_id("notification-count")).to_have_count(0)
    shot(page, tmp_path, "2-patient-opened-the-notification")
    page.get_by_test_id("nav-notifications").click()
    expect(page.get_by_test_id("notification")).to_have_attribute("data-read", "yes")
    expect(page.get_by_test_id("mark-all-read")).to_have_count(0)
    assert_accessible(page)
    page.get_by_test_id("notification-settings").click()
    expect(page.get_by_label("E-mail address")).to_have_attribute("autocomplete", "email")
    assert_accessible(page)

"""Printing a record: the paper shows the record, without the navigation, buttons or forms."""
from playwright.sync_api import expect

from models.clinical import records
from models.people import organizations, users
from models.storage.db import get_db

PASSWORD = "printing pass phrase 1"


def test_a_printed_record_is_the_record_alone(page, live_server):
    app = live_server.app()
    with app.app_context():
        db = get_db()
        org = organizations.create(db, name="Print Hospital", kind=organizations.HOSPITAL)
        doctor = users.create_user(db, username="pdoc", role=users.DOCTOR, name="Pia Doctor",
                                   password=PASSWORD, rounds=4, org_id=org["human_id"],
                                   verified=True)
        patient = users.create_user(db, username="ppat", role=users.PATIENT,
                                    name="Pete Patient", password=PASSWORD, rounds=4)
        record = records.create(db, app.extensions["medledger"]["data_key"], author=doctor,
                                patient_id=patient["human_id"], type_name="note",
                                raw={"title": "Printed note", "text": "On paper."},
                                max_bytes=app.config["MAX_ATTACHMENT_BYTES"])
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("pdoc")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/doctor/records/{record['record_id']}/v1")
    expect(page.locator("nav.app-navbar")).to_be_visible()
    assert page.locator("main .btn:visible").count() > 0  # on screen: Amend and the like

    page.emulate_media(media="print")
    expect(page.locator("nav.app-navbar")).to_be_hidden()
    expect(page.locator("footer")).to_be_hidden()
    expect(page.get_by_test_id("record-card")).to_be_visible()
    expect(page.get_by_test_id("record-card")).to_contain_text("On paper.")
    assert page.locator("main .btn:visible, main form:visible").count() == 0

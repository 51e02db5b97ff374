"""A patient's own document, in Debian's chromium against a live server (CSRF on): she adds a
description of her symptoms with a scanned report, then changes it; the change is a new
version, the first stays readable and marked superseded, and the file carries over."""
import re

from playwright.sync_api import expect

from models.people import users
from models.storage.db import get_db
from tests.records.world import PDF

PASSWORD = "document pass phrase 1"


def test_patient_adds_then_changes_a_document(page, live_server, tmp_path):
    with live_server.app().app_context():
        users.create_user(get_db(), username="petra", role=users.PATIENT, name="Petra Patient",
                          password=PASSWORD, rounds=4)
    scan = tmp_path / "report-from-abroad.pdf"
    scan.write_bytes(PDF)

    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("petra")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/patient/$"))

    page.get_by_test_id("add-document").click()
    page.get_by_label("Title").fill("Report from abroad")
    page.get_by_label("Symptoms or description").fill("Dizzy spells after climbing stairs.")
    page.get_by_label(re.compile("Files")).set_input_files(str(scan))
    page.get_by_role("button", name="Save record").click()
    expect(page).to_have_url(re.compile(r"/patient/$"))
    card = page.get_by_test_id("record-card")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("record-headline")).to_have_text("Report from abroad")
    card.get_by_test_id("record-headline").click()  # records are folded to one line each
    expect(card).to_contain_text("Dizzy spells after climbing stairs.")
    expect(card.get_by_test_id("patient-provided-label")).to_be_visible()

    card.get_by_test_id("change-document").click()
    expect(page.get_by_test_id("amend-heading")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Report from abroad")
    page.get_by_label("Symptoms or description").fill(
        "Dizzy spells after climbing stairs, twice a week since May.")
    page.get_by_role("button", name="Save record").click()
    expect(page).to_have_url(re.compile(r"/patient/records/PAT-\d+-R\d+/v2$"))
    expect(page.get_by_role("alert").filter(has_text="Version 2")).to_be_visible()
    record = page.get_by_test_id("record-card")
    expect(record).to_contain_text("twice a week since May")
    expect(record.get_by_test_id("attachment-link")).to_have_text("report-from-abroad.pdf")
    page.screenshot(path=str(tmp_path / "document-v2.png"), full_page=True)

    page.get_by_test_id("versions").get_by_role("link", name="v1").click()
    expect(page.get_by_test_id("superseded-note")).to_contain_text("superseded by version 2")
    expect(page.get_by_test_id("record-card")).not_to_contain_text("twice a week")
    expect(page.get_by_test_id("amend-document")).to_have_count(0)

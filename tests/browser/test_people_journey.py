"""Browser journeys of issue 3, in Debian's chromium against a live server (CSRF on)."""
import re

from playwright.sync_api import expect

from models.people import users
from models.storage.db import get_db
from tests.browser.journey import sign_in, sign_out

ADMIN_PASSWORD = "admin pass phrase 1"
NEW_PASSWORD = "a brand new passphrase"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def create_admin(live_server):
    app = live_server.app()
    with app.app_context():
        users.create_user(get_db(), username="admin", role=users.ADMIN, name="Ada Admin",
                          password=ADMIN_PASSWORD, rounds=4)


def first_login(page, live_server, username, code):
    sign_in(page, live_server, username, code)
    expect(page).to_have_url(re.compile(r"/password$"))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password").click()


def test_hospital_onboards_a_doctor_who_gets_verified(page, live_server, tmp_path):
    create_admin(live_server)
    sign_in(page, live_server, "admin", ADMIN_PASSWORD)
    expect(page.get_by_test_id("dashboard-admin").or_(page.locator("h1").first)).to_be_visible()

    page.goto(live_server.url + "/admin/organizations")
    page.get_by_test_id("new-organization").click()
    page.get_by_label("Organization name").fill("St. Mary Hospital")
    page.get_by_label("Kind").select_option("hospital")
    page.get_by_label("Manager's full name").fill("Mona Manager")
    page.get_by_label("Manager's username").fill("mona")
    page.get_by_role("button", name="Create organization").click()
    manager_code = page.get_by_test_id("setup-code").inner_text().strip()
    sign_out(page)

    first_login(page, live_server, "mona", manager_code)
    page.get_by_test_id("nav-org-add-staff").click()
    page.get_by_label("Role").select_option("doctor")
    page.get_by_label("Full name").fill("Dr. Dana Doctor")
    page.get_by_label("Username").fill("dana")
    page.get_by_role("button", name="Add to staff").click()
    doctor_code = page.get_by_test_id("setup-code").inner_text().strip()
    doctor_id = page.get_by_test_id("created-human-id").inner_text().strip()
    sign_out(page)

    first_login(page, live_server, "dana", doctor_code)
    expect(page).to_have_url(re.compile(r"/doctor/verification$"))
    licence = tmp_path / "licence.png"
    licence.write_bytes(PNG)
    page.get_by_label(re.compile("Medical licence")).set_input_files(str(licence))
    page.get_by_role("button", name="Upload licence").click()
    expect(page.get_by_test_id("verification-state")).to_contain_text("pending")
    sign_out(page)

    sign_in(page, live_server, "admin", ADMIN_PASSWORD)
    page.goto(live_server.url + "/admin/verifications")
    page.locator(f'[data-testid="queue-row"][data-human-id="{doctor_id}"]').get_by_test_id("review-link").click()
    page.get_by_test_id("approve").click()
    expect(page).to_have_url(re.compile(r"/admin/verifications$"))
    sign_out(page)

    sign_in(page, live_server, "dana", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/doctor/$"))
    expect(page.get_by_test_id("whoami")).to_contain_text(doctor_id)


def test_patient_registers_and_signs_in(page, live_server):
    page.goto(live_server.url + "/login")
    page.get_by_role("link", name="Register here").click()
    page.get_by_label("Full name").fill("Paula Patient")
    page.get_by_label("Date of birth").fill("1984-03-02")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("E-mail").fill("paula@example.org")
    page.get_by_label("Username").fill("paula")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_test_id("whoami")).to_contain_text("PAT-")
    sign_out(page)
    sign_in(page, live_server, "paula", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/patient/$"))


def test_locked_out_login_is_shown_as_such(page, live_server):
    create_admin(live_server)
    for _ in range(5):
        sign_in(page, live_server, "admin", "wrong password again")
    expect(page.get_by_text("locked").first).to_be_visible()  # on the field and in the summary
    sign_in(page, live_server, "admin", ADMIN_PASSWORD)
    expect(page.locator("form")).to_contain_text("locked")
    expect(page).to_have_url(re.compile(r"/login$"))

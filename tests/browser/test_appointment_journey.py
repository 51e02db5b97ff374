"""The appointment journey of issue 12, in Debian's chromium against a live server (CSRF on).

A patient finds Dana in the doctor directory and books a free slot with a reason; Dana
accepts; the front desk checks the patient in; Dana marks the appointment fulfilled and opens "Request access",
pre-filled with the appointment's reason: booking opened no record, the patient decides.
"""
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from models.care import schedules
from models.storage.db import get_db
from tests.browser.journey import front_desk, hospital_people, sign_in, sign_out
from tests.browser.a11y_walk import AXE_OPTIONS, describe

REASON = "Dizzy spells when standing up"
EVERY_DAY = "\n".join(f"{day} 07:00-21:00" for day in schedules.WEEKDAYS)


def set_up_world(live_server):
    app = live_server.app()
    with app.app_context():
        db = get_db()
        org, doctor, _, patient = hospital_people(db)
        front_desk(db, org, "fiona", "Fiona Desk")
        schedules.publish(db, actor=doctor, doctor_id=doctor["human_id"], slot_minutes=30,
                          hours=EVERY_DAY)
    return {"doctor": doctor["human_id"], "patient": patient["human_id"]}


_axe = Axe()


def accessible(page, problems):
    """Run axe (WCAG 2.2 AA and best practices) on the page once it has loaded (a page still
    loading its stylesheet has targets too small); note what it finds."""
    page.wait_for_load_state("load")
    found = _axe.run(page, options=AXE_OPTIONS).response["violations"]
    if found:
        problems.append(f"{page.url}:\n{describe(found)}")


def appointment_of(live_server):
    with live_server.app().app_context():
        return get_db().appointments.find_one({})


def test_patient_books_doctor_accepts_desk_checks_in_doctor_fulfils(page, live_server):
    ids = set_up_world(live_server)
    problems = []

    # 1. The patient finds Dana in the doctor directory and books the first free time, with a
    # reason.
    sign_in(page, live_server, "paula")
    page.get_by_test_id("nav-directory").click()
    page.get_by_label("Name").fill("Dana")
    page.get_by_test_id("directory-search-button").click()
    accessible(page, problems)
    page.get_by_test_id("directory-result").filter(has_text="Dana Doctor").get_by_test_id(
        "directory-doctor-link").click()
    page.get_by_test_id("book-appointment").click()
    expect(page).to_have_url(re.compile(rf"/appointments/book/{ids['doctor']}$"))
    page.get_by_role("button", name="Book this time").click()  # no time, no reason: refused
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    accessible(page, problems)
    page.get_by_test_id("slot").first.check()
    page.get_by_label("Reason for the appointment").fill(REASON)
    page.get_by_role("button", name="Book this time").click()
    expect(page).to_have_url(re.compile(r"/appointments/APT-\d{6}$"))
    expect(page.get_by_text("proposed").first).to_be_visible()
    accessible(page, problems)
    detail = page.url
    page.get_by_test_id("nav-patient-appointments").click()
    expect(page.get_by_test_id("upcoming-table")).to_contain_text(detail.rsplit("/", 1)[-1])
    accessible(page, problems)
    sign_out(page)

    # 2. Dana accepts it.
    sign_in(page, live_server, "dana")
    with page.expect_navigation():
        page.get_by_test_id("nav-doctor-appointments").click()
    accessible(page, problems)
    page.goto(f"{live_server.url}/appointments/schedule")
    expect(page.get_by_label("Weekly hours")).to_have_value(re.compile("Mon 07:00-21:00"))
    accessible(page, problems)
    page.goto(detail)
    accessible(page, problems)
    page.get_by_test_id("action-accepted").get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("appointment-history")).to_contain_text("Accepted by")
    expect(page.locator('[data-state="booked"]')).to_be_visible()
    sign_out(page)

    # 3. The front desk finds it on its day and checks the patient in.
    appt = appointment_of(live_server)
    day = appt["start"].date().isoformat()
    sign_in(page, live_server, "fiona")
    page.get_by_test_id("nav-desk-appointments").click()
    page.goto(f"{live_server.url}/appointments/desk?date={day}")
    row = page.locator(f'[data-appointment-id="{appt["appointment_id"]}"]')
    accessible(page, problems)
    row.get_by_role("button", name="Check in").click()
    expect(page.locator('[data-state="arrived"]')).to_be_visible()
    with page.expect_navigation():
        page.get_by_test_id("nav-desk-dashboard").click()
    accessible(page, problems)
    sign_out(page)

    # 4. Dana marks it fulfilled and asks for access, pre-filled from the appointment.
    sign_in(page, live_server, "dana")
    page.goto(detail)
    page.get_by_test_id("action-fulfilled").get_by_role("button", name="Mark fulfilled").click()
    expect(page.locator('[data-state="fulfilled"]')).to_be_visible()
    page.get_by_test_id("request-access").click()
    expect(page).to_have_url(re.compile(rf"/doctor/patients/{ids['patient']}/request-access\?"))
    expect(page.get_by_label("Message to the patient")).to_have_value(re.compile(REASON))
    expect(page.get_by_label("Purpose")).to_have_value("treatment")
    accessible(page, problems)
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_text(re.compile(r"Request REQ-\d+ is sent"))).to_be_visible()
    assert not problems, "\n".join(problems)

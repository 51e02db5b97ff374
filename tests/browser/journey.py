"""What every browser journey does: its people (a hospital, two of its doctors, a patient),
signing in through the form and out through the navbar."""
import re

from playwright.sync_api import expect

from models.people import organizations, users

PASSWORD = "journey pass phrase 1"   # the accounts the journeys create for themselves


def sign_in(page, live_server, username, password=PASSWORD):
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():   # the next step must not race the sign-in's redirect
        page.get_by_role("button", name="Sign in").click()


def sign_out(page):
    page.wait_for_load_state()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def hospital_people(db):
    """(hospital, doctor "dana", colleague "olga", patient "paula"), all with PASSWORD."""
    org = organizations.create(db, name="St. Mary Hospital", kind=organizations.HOSPITAL)
    doctor, colleague = (users.create_user(db, username=username, role=users.DOCTOR, name=name,
                                           password=PASSWORD, rounds=4, org_id=org["human_id"],
                                           verified=True)
                         for username, name in (("dana", "Dana Doctor"), ("olga", "Olga Other")))
    patient = users.create_user(db, username="paula", role=users.PATIENT, name="Paula Patient",
                                password=PASSWORD, rounds=4)
    return org, doctor, colleague, patient


def front_desk(db, org, username, name):
    """A front desk account of the hospital (books, checks in, admits), with PASSWORD."""
    return users.create_user(db, username=username, role=users.FRONT_DESK, name=name,
                             password=PASSWORD, rounds=4, org_id=org["human_id"])

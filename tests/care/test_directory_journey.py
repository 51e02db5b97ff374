"""In Debian's chromium against a live server (CSRF on): a patient searches the directory by
specialty, sees the doctor on call now highlighted (text and class), and opens their page."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from models.care import doctor_directory
from models.people import organizations, users
from models.storage.db import get_db
from tests.browser.journey import PASSWORD, sign_in

pytestmark = pytest.mark.browser


def window(start, hours):
    """A raw on-call row from `start` (local wall clock) lasting `hours` (may pass midnight)."""
    end = start + timedelta(hours=hours)
    return (str(start.weekday()), start.strftime("%H:%M"), end.strftime("%H:%M"))


def set_up(live_server):
    """A hospital with two cardiologists, one on call now (in the server's zone), and a patient."""
    app = live_server.app()
    now = datetime.now(ZoneInfo(app.config["TIMEZONE"]))
    with app.app_context():
        db = get_db()
        org = organizations.create(db, name="Saint Anne Hospital", kind=organizations.HOSPITAL)
        on_call, off_duty = (users.create_user(
            db, username=username, role=users.DOCTOR, name=name, password=PASSWORD, rounds=4,
            org_id=org["human_id"], verified=True, profile={"specialty": "cardiology"})
            for username, name in (("heartley", "Carla Heartley"), ("beats", "Bruno Beats")))
        users.create_user(db, username="paula", role=users.PATIENT, name="Paula Patient",
                          password=PASSWORD, rounds=4)
        for doctor, start in ((on_call, now - timedelta(hours=1)),
                              (off_duty, now + timedelta(hours=11))):
            doctor_directory.update(db, editor=doctor, human_id=doctor["human_id"], raw={
                "department": "Cardiology ward B", "phone": "+33 1 23 45 67 89",
                "email": f"{doctor['username']}@saint-anne.example",
                "windows": [window(start, 3)]})
    return on_call["human_id"], off_duty["human_id"]


def test_a_patient_finds_the_cardiologist_on_call_and_opens_their_page(page, live_server,
                                                                       tmp_path):
    on_call, off_duty = set_up(live_server)
    sign_in(page, live_server, "paula")
    page.get_by_test_id("nav-directory").click()
    search = page.get_by_test_id("directory-search")
    search.get_by_label("Specialty").select_option("cardiology")
    search.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("directory-result")
    expect(results).to_have_count(2)
    highlighted = page.locator(f'[data-testid="directory-result"][data-doctor-id="{on_call}"]')
    expect(highlighted).to_have_class(re.compile(r"\bis-on-call\b"))
    expect(highlighted.get_by_test_id("on-call-now")).to_have_text(re.compile("On call now"))
    other = page.locator(f'[data-testid="directory-result"][data-doctor-id="{off_duty}"]')
    expect(other.get_by_test_id("on-call-now")).to_have_count(0)
    expect(other).not_to_have_class(re.compile(r"\bis-on-call\b"))
    page.screenshot(path=str(tmp_path / "directory-results.png"), full_page=True)
    highlighted.get_by_role("link", name="Carla Heartley").click()
    expect(page).to_have_url(f"{live_server.url}/directory/doctors/{on_call}")
    expect(page.get_by_test_id("directory-doctor-name")).to_contain_text("On call now")
    expect(page.get_by_test_id("entry-department")).to_have_text("Cardiology ward B")
    expect(page.get_by_test_id("on-call-row")).to_have_count(1)
    expect(page.get_by_test_id("book-appointment")).to_have_attribute(
        "href", f"/appointments/book/{on_call}")

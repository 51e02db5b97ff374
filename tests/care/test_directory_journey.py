"""In Debian's chromium against a live server (CSRF on): a patient searches the directory by
specialty, sees the doctor on call now highlighted (text and class), and opens their page; the
directory's pages pass axe-core and fit a phone."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from models.care import doctor_directory
from models.people import organizations, users
from models.storage.db import get_db
from tests.browser.journey import PASSWORD, sign_in
from tests.browser.a11y_walk import AXE_OPTIONS, DESKTOP, OUT_OF_REACH, PHONE, describe

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


def test_the_directory_pages_pass_axe_and_fit_a_phone(page, live_server):
    """Search results with a doctor on call, a doctor's page, and the edit form with errors:
    axe-core finds nothing at WCAG 2.2 AA, and nothing scrolls sideways at 390 px."""
    on_call, _ = set_up(live_server)
    states = []
    sign_in(page, live_server, "paula")
    page.goto(live_server.url + "/directory/?specialty=cardiology")
    expect(page.get_by_test_id("on-call-now")).to_have_count(1)
    states.append(("results", page.url))
    states.append(("doctor page", f"{live_server.url}/directory/doctors/{on_call}"))
    problems = [problem for name, url in states for problem in _checked(page, name, url)]
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "heartley")
    page.goto(live_server.url + "/directory/me")
    form = page.get_by_test_id("entry-form")
    form.get_by_label("Work phone").fill("call me")
    form.get_by_label("Window 2: weekday").select_option("2")
    with page.expect_navigation():
        form.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Work phone")
    expect(page.get_by_test_id("error-summary")).to_contain_text("Window 2: from")
    problems += _checked(page, "edit errors", None)
    assert not problems, "\n".join(problems)


def _checked(page, name, url):
    """Axe violations and sideways scrolling of one page state (visited again at each width)."""
    found = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        if url:
            page.goto(url)
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        if violations:
            found.append(f"{name} at {viewport['width']} px:\n{describe(violations)}")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > viewport["width"] or page.evaluate(OUT_OF_REACH):
            found.append(f"{name}: too wide at {viewport['width']} px ({width} px)")
    page.set_viewport_size(DESKTOP)
    return found

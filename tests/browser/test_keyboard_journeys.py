"""Keyboard only: Tab to move, typing into fields, Enter to act. Sign in, approve a request and
share with a hospital, in Debian's chromium against a live server; no mouse event is used.

Each step Tabs until the wanted control has the focus (so the tab order must reach it, and
the focus must be visible there), then types or presses Enter.
"""
import re

from playwright.sync_api import expect

from models.consent import workflow as consent
from models.people import organizations, users
from models.storage.db import get_db

PASSWORD = "keyboard pass phrase 1"
MAX_TABS = 60


def set_up_world(live_server):
    app = live_server.app()
    with app.app_context():
        db = get_db()
        hospital = organizations.create(db, name="Keyboard General Hospital",
                                        kind=organizations.HOSPITAL)
        doctor = users.create_user(db, username="kdoc", role=users.DOCTOR, name="Kim Doctor",
                                   password=PASSWORD, rounds=4, org_id=hospital["human_id"],
                                   verified=True)
        patient = users.create_user(db, username="kpat", role=users.PATIENT, name="Kay Patient",
                                    password=PASSWORD, rounds=4)
        request = consent.request_access(db, requester=doctor, patient_id=patient["human_id"],
                                         scope_kind="all", purpose="treatment", duration_days="7",
                                         one_time=False, message="Before your operation.")
    return {"hospital": hospital["human_id"], "request": request["request_id"],
            "patient": patient["human_id"]}


def tab_to(page, selector):
    """Press Tab until the focused element matches `selector`; fail if the order never gets
    there. The focused element must show a visible focus indicator."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                    " return s.outlineStyle + ' ' + s.boxShadow; }")
            assert not outline.startswith("none none"), f"{selector}: no visible focus"
            return
    raise AssertionError(f"Tab never reached {selector}")


def sign_in_by_keyboard(page, live_server, username):
    page.goto(live_server.url + "/login")
    tab_to(page, "#username")
    page.keyboard.type(username)
    tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def test_signing_in_by_keyboard_and_skipping_to_the_content(page, live_server):
    set_up_world(live_server)
    page.goto(live_server.url + "/login")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    sign_in_by_keyboard(page, live_server, "kpat")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    expect(page.get_by_test_id("whoami")).to_contain_text("Kay Patient")


def test_a_refused_sign_in_puts_the_focus_where_the_problem_is_told(page, live_server):
    set_up_world(live_server)
    page.goto(live_server.url + "/login")
    tab_to(page, "#username")
    page.keyboard.press("Enter")  # nothing typed
    expect(page.locator("#error-summary")).to_be_focused()
    tab_to(page, "#error-summary a[href='#username']")
    page.keyboard.press("Enter")
    expect(page.locator("#username")).to_be_focused()


def test_approving_a_request_by_keyboard(page, live_server):
    ids = set_up_world(live_server)
    sign_in_by_keyboard(page, live_server, "kpat")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    tab_to(page, f'[data-request-id="{ids["request"]}"] [data-testid="approve-button"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("main .alert-success")).to_contain_text("You approved")
    page.goto(f"{live_server.url}/patient/requests/{ids['request']}")
    expect(page.locator('[data-state="approved"]')).to_be_visible()


def test_sharing_with_a_hospital_by_keyboard(page, live_server):
    ids = set_up_world(live_server)
    sign_in_by_keyboard(page, live_server, "kpat")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    tab_to(page, '[data-testid="nav-patient-grants"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/patient/grants$"))
    tab_to(page, "#grantee")
    page.keyboard.type(ids["hospital"])
    tab_to(page, '[data-testid="grant-form"] [type="submit"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("grants-table")).to_contain_text(ids["hospital"])

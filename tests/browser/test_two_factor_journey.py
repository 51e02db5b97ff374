"""Browser journey of issue 15: a doctor whose role needs two-factor sign-in enrols with the
key read from the page (the code computed here with pyotp) and signs in with a code."""
import re
import time

import pyotp
from playwright.sync_api import expect

from models.people import users
from models.storage.db import get_db
from tests.browser.conftest import LiveServer
from tests.browser.journey import PASSWORD, sign_in, sign_out
from tests.browser.a11y_walk import _axe, AXE_OPTIONS, describe


def assert_accessible(page):
    """The two-factor pages pass axe at WCAG 2.2 AA, as the demo walk's pages do (once the
    page and its stylesheets have loaded: a URL changes before that)."""
    page.wait_for_load_state("load")
    found = _axe.run(page, options=AXE_OPTIONS).response["violations"]
    assert not found, describe(found)


def test_a_doctor_enrols_by_the_pages_key_and_signs_in_with_a_code(page, tmp_path, embedded_uri,
                                                                   monkeypatch):
    monkeypatch.setenv("TWO_FACTOR_ROLES", "doctor")  # the demo config leaves it off
    server = LiveServer(tmp_path, embedded_uri).start()
    try:
        with server.app().app_context():
            users.create_user(get_db(), username="drtotp", role=users.DOCTOR, name="Tess Otp",
                              password=PASSWORD, rounds=4, verified=True)
        sign_in(page, server, "drtotp")
        expect(page).to_have_url(re.compile(r"/account/two-factor/setup$"))
        page.goto(server.url + "/doctor/")  # nothing else opens before enrolment
        expect(page).to_have_url(re.compile(r"/account/two-factor/setup$"))
        expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
        assert_accessible(page)
        seed = page.get_by_test_id("manual-key").inner_text().replace(" ", "")
        code = page.get_by_label("Code shown by the app")
        expect(code).to_have_attribute("autocomplete", "one-time-code")
        code.fill(pyotp.TOTP(seed).now())
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        assert_accessible(page)
        page.get_by_role("link", name="I have saved them: continue").click()
        expect(page).to_have_url(re.compile(r"/doctor/$"))
        sign_out(page)

        sign_in(page, server, "drtotp")
        expect(page).to_have_url(re.compile(r"/login/code$"))
        assert_accessible(page)
        later = pyotp.TOTP(seed).at(time.time() + 30)  # a later step than enrolment used
        page.get_by_label("Code from your authenticator app").fill(f"{later[:3]} {later[3:]}")
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(r"/doctor/$"))
        expect(page.get_by_test_id("whoami")).to_contain_text("Tess Otp")
        page.get_by_test_id("security-link").click()
        expect(page.get_by_test_id("two-factor-history")).to_contain_text("turned on")
        assert_accessible(page)
    finally:
        server.stop()

"""What every browser journey does: sign in through the form, sign out through the navbar."""
import re

from playwright.sync_api import expect

PASSWORD = "journey pass phrase 1"   # the accounts the journeys create for themselves


def sign_in(page, live_server, username, password=PASSWORD):
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

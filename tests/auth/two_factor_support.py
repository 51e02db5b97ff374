"""Two-factor test helpers: a clock the test controls, enrolment through the model, codes."""
import re
from datetime import datetime, timezone

import pyotp

from models.core import clock
from models.people import two_factor, two_factor_events
from models.storage.db import get_db

T0 = datetime(2026, 3, 2, 10, 0, 10, tzinfo=timezone.utc)  # 10 s into a step
STAFF = ("admin", "auditor", "org_manager", "doctor", "pharmacist", "lab_tech")


class Clock:
    """`clock.now` pinned to a moment the test moves: no test depends on the wall clock's
    step boundary."""

    def __init__(self, monkeypatch, at=T0):
        self.at = at
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def code(self, seed, steps=0):
        """The code of the step `steps` away from now, computed as the phone would."""
        return pyotp.TOTP(seed).at(self.at.timestamp() + 30 * steps)


def key(app):
    return app.extensions["medledger"]["data_key"]


def enrol(app, user, clock_):
    """(seed, recovery codes): the account enrolled at the clock's step."""
    with app.app_context():
        db = get_db()
        seed = two_factor.pending_secret(db, key(app), user)
        codes = two_factor_events.activate(db, key(app), user, clock_.code(seed))
    return seed, codes


def to_code_step(client, username, password):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    return response


def manual_key(html):
    return re.search(r'data-testid="manual-key">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")

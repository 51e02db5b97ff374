"""Two-factor test helpers: a clock the test controls, enrolment through the model, codes."""
import re
from datetime import datetime, timezone

import pyotp

from models.core import clock
from models.people import two_factor, two_factor_events, users
from models.storage.db import get_db

PASSWORD = "correct horse battery"
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


def enrolled_now(db, data_key, user):
    """(seed, recovery codes) at the real time (drills and shared histories that do not
    control the clock; the window of one step either side covers a step boundary)."""
    seed = two_factor.pending_secret(db, data_key, user)
    return seed, two_factor_events.activate(db, data_key, user, pyotp.TOTP(seed).now())


def next_code(seed):
    """The next step's code (later than the step an enrolment just used)."""
    return pyotp.TOTP(seed).at(datetime.now(timezone.utc).timestamp() + 30)


def history(db, data_key, admin, org_id=None):
    """Every two-factor event once, on two accounts of their own (the world's people keep
    signing in with a password): enrolment, a recovery code, new codes, an admin's reset."""
    person = users.create_user(db, username="history2fa", role=users.PATIENT,
                               name="History Twofactor", password=PASSWORD, rounds=4)
    seed, codes = enrolled_now(db, data_key, person)
    two_factor_events.use_recovery_code(db, person, codes[0])
    two_factor_events.regenerate(db, data_key, person, PASSWORD, next_code(seed))
    staff = users.create_user(db, username="history2fastaff", role=users.LAB_TECH,
                              name="History Labtech", password=PASSWORD, rounds=4, org_id=org_id)
    enrolled_now(db, data_key, staff)
    two_factor_events.reset(db, admin, staff["human_id"], "Lost phone, checked in person")
    return person, staff

"""Sign-ins racing with one code against a real server (issue 15): one wins, for an app's
code and for a recovery code alike."""
import threading
from datetime import timedelta

import pytest

from models.people import two_factor, users
from models.storage.db import get_db
from tests.auth.two_factor_support import Clock, enrol, to_code_step
from tests.conftest import PASSWORD


@pytest.mark.integration
def test_two_concurrent_sign_ins_with_one_code_one_succeeds(app, make_account, monkeypatch):
    tick = Clock(monkeypatch)
    app.config["TWO_FACTOR_ACCOUNT_LIMIT"] = "100 per minute"  # the race, not the limit
    app.config["LOCKOUT_THRESHOLD"] = 100  # nor the lock-out the losers' failures count to
    person = make_account(users.PATIENT, username="racer")
    seed, recovery = enrol(app, person, tick)
    tick.at += timedelta(seconds=30)
    code = tick.code(seed)
    for attempt in range(3):  # three rounds, each with a fresh code
        assert _race(app, "/login/code", {"code": code}) == WON, attempt
        tick.at += timedelta(seconds=30)
        code = tick.code(seed)
    assert _race(app, "/login/recovery", {"recovery": recovery[0]}) == WON
    assert remaining(app, person) == 9


WON = [(302, "/patient/")] + [(401, None)] * 3


def _race(app, path, data):
    """Four half sign-ins of the same account post the same thing at the same moment."""
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        to_code_step(client, "racer", PASSWORD)
    start, results = threading.Barrier(len(clients)), []

    def sign_in(client):
        start.wait()
        response = client.post(path, data=data)
        results.append((response.status_code, response.headers.get("Location")))

    threads = [threading.Thread(target=sign_in, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(results, key=str)


def remaining(app, person):
    with app.app_context():
        return two_factor.remaining_codes(two_factor.state(get_db(), person))

"""Two-factor sign-in (issue 15) on the unit tier: codes by step, each once, recovery codes,
staff confined to enrolment, the admin's reset, lock-out and rate limits."""
import re
from datetime import timedelta

import pytest

from config import Config, TestingConfig
from models.people import two_factor, users
from models.storage import authority
from models.storage.db import get_db
from tests.auth.two_factor_support import STAFF, Clock, enrol, key, manual_key, to_code_step
from tests.conftest import PASSWORD
from tests.support_people import blocks_of_kind


@pytest.fixture
def tick(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def patient(app, make_account):
    return make_account(users.PATIENT, username="pat2fa")


def _later(tick, seconds):
    tick.at = tick.at + timedelta(seconds=seconds)


def test_valid_code_signs_in_and_the_password_alone_does_not(app, client, patient, tick):
    seed, _ = enrol(app, patient, tick)
    _later(tick, 30)
    to_code_step(client, "pat2fa", PASSWORD)
    assert client.get("/patient/").status_code == 302  # half signed in: not a login
    page = client.get("/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    code = tick.code(seed)
    response = client.post("/login/code", data={"code": f"{code[:3]} {code[3:]}"})  # pasted
    assert response.status_code == 302 and response.headers["Location"] == "/patient/"
    assert client.get("/patient/").status_code == 200


@pytest.mark.parametrize("steps, accepted", [(-1, True), (1, True), (-2, False), (2, False)])
def test_one_step_either_side_is_accepted_two_are_not(app, client, patient, tick, steps,
                                                      accepted):
    seed, _ = enrol(app, patient, tick)
    _later(tick, 120)  # four steps after enrolment: step-2 is still later than the last used
    to_code_step(client, "pat2fa", PASSWORD)
    response = client.post("/login/code", data={"code": tick.code(seed, steps)})
    assert response.status_code == (302 if accepted else 401)


def test_the_same_code_twice_is_refused(app, client, patient, tick):
    seed, _ = enrol(app, patient, tick)
    _later(tick, 30)
    code = tick.code(seed)
    to_code_step(client, "pat2fa", PASSWORD)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    client.post("/logout")
    to_code_step(client, "pat2fa", PASSWORD)
    assert client.post("/login/code", data={"code": code}).status_code == 401
    # an earlier step's code (still inside the window) is refused too: only later steps count
    assert client.post("/login/code", data={"code": tick.code(seed, -1)}).status_code == 401
    assert client.post("/login/code", data={"code": tick.code(seed, 1)}).status_code == 302


def test_a_recovery_code_works_once(app, client, patient, tick):
    _, codes = enrol(app, patient, tick)
    assert len(codes) == 10 and len(set(codes)) == 10
    to_code_step(client, "pat2fa", PASSWORD)
    response = client.post("/login/recovery", data={"recovery": codes[3].upper()})
    assert response.status_code == 302 and response.headers["Location"] == "/patient/"
    assert len(blocks_of_kind(app, "account.recovery_code_used")) == 1
    page = client.get("/account/security").get_data(as_text=True)
    assert "9 unused recovery codes" in page and "A recovery code was used" in page
    inbox = client.get("/notifications/").get_data(as_text=True)
    assert "A recovery code was used to sign in to your account (9 left)" in inbox
    assert 'href="/account/security"' in inbox
    client.post("/logout")
    to_code_step(client, "pat2fa", PASSWORD)
    assert client.post("/login/recovery", data={"recovery": codes[3]}).status_code == 401
    assert len(blocks_of_kind(app, "account.recovery_code_used")) == 1


def test_the_seed_is_encrypted_and_its_state_cannot_be_rewound(app, patient, tick):
    seed, _ = enrol(app, patient, tick)
    db = get_db(app)
    stored = db.two_factor.find_one({"user_id": patient["human_id"]})
    assert seed not in str(stored) and stored["enabled"] is True
    db.two_factor.update_one({"_id": stored["_id"]}, {"$set": {"last_step": 0}})
    with app.app_context(), pytest.raises(authority.Unauthentic):
        two_factor.accept_code(db, key(app), patient, tick.code(seed, 1))


def test_staff_without_two_factor_can_only_enrol(app, client, make_account, tick):
    app.config["TWO_FACTOR_ROLES"] = STAFF
    make_account(users.DOCTOR, username="doc2fa")
    response = client.post("/login", data={"username": "doc2fa", "password": PASSWORD})
    assert response.status_code == 302
    for path in ("/doctor/", "/notifications/", "/account/security"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"] == \
            "/account/two-factor/setup", path
    assert client.post("/doctor/", data={}).status_code in (302, 405)
    setup = client.get("/account/two-factor/setup")
    assert "img-src 'self' data:" in setup.headers["Content-Security-Policy"]  # unchanged
    page = setup.get_data(as_text=True)
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<path" in svg and "style" not in svg and "<script" not in svg  # strict CSP holds
    seed = manual_key(page)
    wrong = client.post("/account/two-factor/setup", data={"code": "000000"})
    assert wrong.status_code == 400 and client.get("/doctor/").status_code == 302
    done = client.post("/account/two-factor/setup", data={"code": tick.code(seed)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert done.get_data(as_text=True).count("<li>") >= 10
    assert client.get("/doctor/").status_code == 200
    assert len(blocks_of_kind(app, "account.two_factor_enabled")) == 1


def test_front_desk_and_patients_are_not_required_by_default():
    assert "front_desk" not in STAFF and "patient" not in STAFF
    assert set(Config.TWO_FACTOR_ROLES) == set(STAFF) and TestingConfig.TWO_FACTOR_ROLES == ()


def test_admin_reset_sends_the_person_back_to_enrolment(app, client, make_account, tick):
    app.config["TWO_FACTOR_ROLES"] = ("doctor",)
    doctor = make_account(users.DOCTOR, username="docreset")
    make_account(users.ADMIN, username="boss")
    enrol(app, doctor, tick)
    client.post("/login", data={"username": "boss", "password": PASSWORD})
    short = client.post(f"/admin/accounts/{doctor['human_id']}/two-factor", data={"reason": "x"})
    assert short.status_code == 400 and not blocks_of_kind(app, "account.two_factor_reset")
    done = client.post(f"/admin/accounts/{doctor['human_id']}/two-factor",
                       data={"reason": "Lost phone, identity checked at the desk"})
    assert done.status_code == 302
    block, = blocks_of_kind(app, "account.two_factor_reset")
    client.post("/logout")
    response = client.post("/login", data={"username": "docreset", "password": PASSWORD})
    assert response.headers["Location"] != "/login/code"  # no code asked: it is off
    assert client.get("/doctor/").headers["Location"] == "/account/two-factor/setup"
    seed = manual_key(client.get("/account/two-factor/setup").get_data(as_text=True))
    _later(tick, 30)
    assert client.post("/account/two-factor/setup",
                       data={"code": tick.code(seed)}).status_code == 200
    page = client.get("/account/security").get_data(as_text=True)  # shown to the person
    assert "reset by an administrator: Lost phone, identity checked at the desk" in page
    assert str(block["height"]) in page


def test_a_doctor_cannot_reset_two_factor(app, client, make_account, tick):
    doctor = make_account(users.DOCTOR, username="docnoreset")
    make_account(users.DOCTOR, username="other")
    client.post("/login", data={"username": "other", "password": PASSWORD})
    assert client.post(f"/admin/accounts/{doctor['human_id']}/two-factor",
                       data={"reason": "Lost phone"}).status_code == 403


def test_wrong_codes_lock_the_account(app, client, patient, tick):
    app.config["LOCKOUT_THRESHOLD"] = 3
    seed, _ = enrol(app, patient, tick)
    _later(tick, 30)
    to_code_step(client, "pat2fa", PASSWORD)
    assert client.post("/login/code", data={"code": "111111"}).status_code == 401
    assert client.post("/login/code", data={"code": "222222"}).status_code == 401
    third = client.post("/login/code", data={"code": "333333"})
    assert third.status_code == 302 and third.headers["Location"] == "/login"
    assert users.is_locked(get_db(app).users.find_one({"_id": patient["_id"]}))
    # the right password does not reopen the code step while locked
    assert client.post("/login", data={"username": "pat2fa", "password": PASSWORD}
                       ).status_code == 401
    expired = client.post("/login/code", data={"code": tick.code(seed)})
    assert expired.headers["Location"] == "/login"
    assert client.get("/patient/").status_code == 302


def test_the_code_step_is_rate_limited_per_account(app, patient, tick):
    app.config["TWO_FACTOR_ACCOUNT_LIMIT"] = "3 per minute"
    app.config["LOCKOUT_THRESHOLD"] = 100
    enrol(app, patient, tick)
    first, second = app.test_client(), app.test_client()  # two sessions, one account
    to_code_step(first, "pat2fa", PASSWORD)
    to_code_step(second, "pat2fa", PASSWORD)
    statuses = [client.post("/login/code", data={"code": "123456"}).status_code
                for client in (first, second, first, second)]
    assert statuses == [401, 401, 401, 429]


def test_the_code_step_is_rate_limited_per_address(app, make_account, tick):
    app.config["TWO_FACTOR_IP_LIMIT"] = "2 per minute"
    app.config["LOCKOUT_THRESHOLD"] = 100
    clients = []
    for index in range(3):  # three accounts from one address
        account = make_account(users.PATIENT, username=f"ip2fa{index}")
        enrol(app, account, tick)
        clients.append(app.test_client())
        to_code_step(clients[-1], f"ip2fa{index}", PASSWORD)
    statuses = [client.post("/login/code", data={"code": "123456"}).status_code
                for client in clients]
    assert statuses == [401, 401, 429]


def test_new_recovery_codes_need_the_password_and_a_code(app, client, patient, tick):
    seed, old = enrol(app, patient, tick)
    _later(tick, 30)
    to_code_step(client, "pat2fa", PASSWORD)
    client.post("/login/code", data={"code": tick.code(seed)})
    _later(tick, 30)
    refused = client.post("/account/security", data={"password": "wrong password!",
                                                     "code": tick.code(seed)})
    assert refused.status_code == 400
    made = client.post("/account/security", data={"password": PASSWORD,
                                                  "code": tick.code(seed)})
    assert made.status_code == 200 and len(blocks_of_kind(app, "account.recovery_codes_regenerated")) == 1
    client.post("/logout")
    to_code_step(client, "pat2fa", PASSWORD)
    assert client.post("/login/recovery", data={"recovery": old[0]}).status_code == 401


def test_a_second_factor_edited_in_the_database_ends_the_session(app, client, make_account,
                                                                 tick):
    app.config["TWO_FACTOR_ROLES"] = ("doctor",)
    doctor = make_account(users.DOCTOR, username="doctamper")
    seed, _ = enrol(app, doctor, tick)
    _later(tick, 30)
    to_code_step(client, "doctamper", PASSWORD)
    client.post("/login/code", data={"code": tick.code(seed)})
    assert client.get("/doctor/").status_code == 200
    get_db(app).two_factor.update_one({"user_id": doctor["human_id"]},
                                      {"$set": {"enabled": False}})  # an insider's shortcut
    assert client.get("/doctor/").headers["Location"].startswith("/login")
    # and the password step refuses to go on (403: fail closed), it does not skip the code
    assert client.post("/login", data={"username": "doctamper", "password": PASSWORD}
                       ).status_code == 403


def test_the_api_refuses_a_role_that_must_enrol_first_by_token_or_session(app, client, auth,
                                                                        patient, tick):
    """Personal API tokens skip the code step (made in a session that passed it), but an
    account that must enrol reads nothing through the API until it has."""
    auth.login("pat2fa")
    made = client.post("/tokens", data={"name": "laptop script", "expires": "90"})
    token = re.search(r'data-testid="new-token">(mlt_[A-Za-z0-9_-]{43})<', made.text).group(1)
    own_log = f"/fhir/r4/AuditEvent?patient={patient['human_id']}"
    api = app.test_client()
    assert api.get(own_log, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app.config["TWO_FACTOR_ROLES"] = ("patient",)  # the hospital now requires it of patients
    assert api.get(own_log, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert client.get(own_log).status_code == 403  # the session, too
    enrol(app, patient, tick)
    assert api.get(own_log, headers={"Authorization": f"Bearer {token}"}).status_code == 200

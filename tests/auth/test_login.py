"""Sign-in, lockout, rate limit, idle timeout, safe redirects and passwords."""
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest

from blueprints.auth.routes import safe_next
from models.people import users
from tests.conftest import as_the_app
from tests.conftest import PASSWORD


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_login_sends_each_role_home(app, client, auth, make_account):
    expected = {users.PATIENT: "/patient/", users.ADMIN: "/admin/", users.AUDITOR: "/auditor/",
                users.DOCTOR: "/doctor/", users.ORG_MANAGER: "/organization/",
                users.PHARMACIST: "/staff/", users.LAB_TECH: "/staff/"}
    for role, home in expected.items():
        account = make_account(role)
        response = auth.login(account["username"])
        assert response.status_code == 302
        assert response.headers["Location"] == home
        assert client.get(home).status_code == 200
        auth.logout()


def test_wrong_password_is_refused_without_saying_which_part(client, auth, make_account):
    account = make_account(users.PATIENT)
    response = auth.login(account["username"], "wrong password here")
    assert response.status_code == 401
    assert b"Unknown username or wrong password" in response.data
    response = auth.login("nobody-at-all", PASSWORD)
    assert response.status_code == 401
    assert b"Unknown username or wrong password" in response.data


def test_empty_form_is_a_400_with_messages(client):
    response = client.post("/login", data={})
    assert response.status_code == 400
    assert b"This field is required" in response.data


def test_five_failures_lock_the_account_even_for_the_right_password(app, db, auth, make_account):
    account = make_account(users.DOCTOR)
    for _ in range(4):
        assert auth.login(account["username"], "not the password!").status_code == 401
    response = auth.login(account["username"], "not the password!")
    assert response.status_code == 401
    response = auth.login(account["username"])
    assert response.status_code == 401
    assert "/doctor" not in response.headers.get("Location", "")
    assert users.is_locked(db.users.find_one({"_id": account["_id"]}))


def _answer(response):
    """What a stranger sees of a refused sign-in: the status and the form's messages."""
    return response.status_code, re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]*)<',
                                            response.get_data(as_text=True))


def test_a_locked_account_answers_exactly_like_an_unknown_username(app, db, auth, make_account):
    """The lockout must not reveal that an account exists: the attempt that locks it, and every
    attempt while it is locked (even with the right password), look like an unknown name."""
    account = make_account(users.PATIENT, username="existing.patient")
    unknown = _answer(auth.login("nobody.at.all", "not the password!"))
    assert unknown == (401, [users.REFUSED.replace("'", "&#39;")])
    answers = [_answer(auth.login(account["username"], "not the password!"))
               for _ in range(app.config["LOCKOUT_THRESHOLD"])]
    assert users.is_locked(db.users.find_one({"_id": account["_id"]}))
    answers.append(_answer(auth.login(account["username"], "not the password!")))
    answers.append(_answer(auth.login(account["username"])))  # the right password, locked
    assert answers == [unknown] * len(answers)
    assert _answer(auth.login("nobody.at.all", "not the password!")) == unknown


def test_a_disabled_account_is_named_only_to_its_right_password(db, auth, make_account):
    account = make_account(users.PHARMACIST)
    users.set_active(db, account["_id"], False)
    unknown = _answer(auth.login("nobody.at.all", "not the password!"))
    assert _answer(auth.login(account["username"], "not the password!")) == unknown


def test_lock_expires_and_unlock_clears_it(app, db, auth, make_account):
    account = make_account(users.PATIENT)
    as_the_app(app, "users", {"_id": account["_id"]}, {"$set": {
        "locked_until": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    assert auth.login(account["username"]).status_code == 302
    auth.logout()
    as_the_app(app, "users", {"_id": account["_id"]}, {"$set": {
        "locked_until": datetime.now(timezone.utc) + timedelta(minutes=10)}})
    assert auth.login(account["username"]).status_code == 401
    assert users.unlock(db, account["_id"]) == 1
    assert auth.login(account["username"]).status_code == 302


def test_a_successful_sign_in_starts_the_failure_count_again(app, db, auth, make_account):
    """Lock-out counts failures in a row: a right password in between clears the count, so a
    person who mistypes now and then is never locked out by old mistakes."""
    account = make_account(users.PATIENT)
    almost = app.config["LOCKOUT_THRESHOLD"] - 1
    for _ in range(almost):
        assert auth.login(account["username"], "not the password!").status_code == 401
    assert auth.login(account["username"]).status_code == 302
    auth.logout()
    for _ in range(almost):
        assert auth.login(account["username"], "not the password!").status_code == 401
    assert not users.is_locked(db.users.find_one({"_id": account["_id"]}))
    assert auth.login(account["username"]).status_code == 302


def test_disabled_account_cannot_sign_in(db, auth, make_account):
    account = make_account(users.PHARMACIST)
    users.set_active(db, account["_id"], False)
    response = auth.login(account["username"])
    assert response.status_code == 401
    assert b"disabled" in response.data


def test_logins_are_rate_limited_per_address(app, tmp_path):
    from app import create_app
    from tests.conftest import make_config
    limited = create_app(make_config(tmp_path, LOGIN_RATE_LIMIT="3 per minute"))
    client = limited.test_client()
    codes = [client.post("/login", data={"username": "x", "password": "y" * 12}).status_code
             for _ in range(4)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_idle_session_is_signed_out(app, client, auth, make_account):
    account = make_account(users.PATIENT)
    auth.login(account["username"])
    assert client.get("/patient/").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    response = client.get("/patient/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/patient/").status_code == 302


@pytest.mark.parametrize("moved", [{"headers": {"User-Agent": "Another browser/1.0"}},
                                   {"environ_overrides": {"REMOTE_ADDR": "10.9.8.7"}}])
def test_a_session_replayed_from_another_browser_or_address_is_signed_out(client, auth,
                                                                          make_account, moved,
                                                                          caplog):
    """Flask-Login's "strong" session protection, completed for permanent sessions (app.py)."""
    account = make_account(users.PATIENT)
    auth.login(account["username"])
    assert client.get("/patient/").status_code == 200  # the same browser stays signed in
    with caplog.at_level(logging.WARNING, logger="app"):
        response = client.get("/patient/", **moved)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert [(record.levelno, record.getMessage()) for record in caplog.records
            if record.name == "app"] == [
        (logging.WARNING, "a session used from another browser or address was signed out")]
    with client.session_transaction() as session:
        assert session["_flashes"] == [
            ("warning",
             "You were signed out: your session was used from another browser or address.")]
    assert client.get("/patient/").status_code == 302  # the session is gone for both


def test_basic_session_protection_leaves_a_moved_session_signed_in(app, client, auth,
                                                                    make_account):
    """SESSION_PROTECTION (Flask-Login's setting) is read as Flask-Login reads it: "basic"
    only marks the session not fresh, so the sign-out above is for "strong" alone."""
    app.config["SESSION_PROTECTION"] = "basic"
    account = make_account(users.PATIENT)
    auth.login(account["username"])
    assert client.get("/patient/", headers={"User-Agent": "Another browser/1.0"}).status_code \
        == 200
    with client.session_transaction() as session:
        assert session["_fresh"] is False and "_flashes" not in session


def test_activity_keeps_the_session_open(app, client, auth, make_account):
    """The idle timeout counts from the last request, not from the sign-in: two spells of
    almost the limit, with a request between them, keep the person signed in."""
    account = make_account(users.PATIENT)
    auth.login(account["username"])
    for _ in range(2):
        with client.session_transaction() as session:
            session["last_seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 - 30
        assert client.get("/patient/").status_code == 200


def test_next_is_followed_only_when_local(client, make_account):
    account = make_account(users.PATIENT)
    response = client.post("/login?next=/patient/", data={"username": account["username"],
                                                          "password": PASSWORD})
    assert response.headers["Location"] == "/patient/"
    client.post("/logout")
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": account["username"], "password": PASSWORD})
    assert response.headers["Location"] == "/patient/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil.example/x", "", None])
def test_safe_next_rejects_foreign_targets(target):
    assert safe_next(target) is None


def test_safe_next_keeps_local_paths():
    assert safe_next("/doctor/patients?x=1") == "/doctor/patients?x=1"


def test_logout_needs_post(client, auth, make_account):
    account = make_account(users.PATIENT)
    auth.login(account["username"])
    assert client.get("/logout").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/patient/").status_code == 302


@pytest.mark.parametrize("password,problem", [
    ("short", "at least 12"),
    ("é" * 37, "at most 72 bytes"),
    ("patient-user-1", "must not be the username"),
])
def test_password_policy(password, problem):
    assert problem in users.password_problem(password, "patient-user-1")


def test_password_policy_accepts_a_good_password():
    assert users.password_problem("a long enough passphrase", "someone") is None


def test_passwords_are_stored_as_bcrypt_hashes(db, make_account):
    account = make_account(users.PATIENT)
    stored = db.users.find_one({"_id": account["_id"]})["password_hash"]
    assert stored.startswith("$2b$") and PASSWORD not in stored


def test_first_login_forces_a_new_password(app, client, auth, db, make_account):
    account = make_account(users.PATIENT, password="one-time-setup-code", must_set_password=True)
    auth.login(account["username"], "one-time-setup-code")
    response = client.get("/patient/")
    assert response.status_code == 302 and response.headers["Location"] == "/password"
    response = client.post("/password", data={"password": "short", "confirm": "short"})
    assert response.status_code == 400 and b"at least 12" in response.data
    response = client.post("/password", data={"password": "my own long secret",
                                              "confirm": "my own long secret"})
    assert response.status_code == 302
    assert client.get("/patient/").status_code == 200
    assert not db.users.find_one({"_id": account["_id"]})["must_set_password"]


def test_disabling_an_account_ends_its_open_session(db, client, auth, make_account):
    account = make_account(users.DOCTOR)
    auth.login(account["username"])
    assert client.get("/doctor/").status_code == 200
    users.set_active(db, account["_id"], False)
    response = client.get("/doctor/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]

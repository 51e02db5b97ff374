"""The session rules around every guarded view (app.py, blueprints/guards.py), at their edges:
the idle limit to the second, what a static file or an anonymous visit does to the clock,
the way back after signing in again, an account changed outside the app, and the
confinement to enrolment (mutation testing: scripts/mutation guards)."""
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for

import app as app_module
from app import create_app
from models.people import users
from models.storage.db import get_db
from tests.conftest import AuthActions, as_the_app, make_config

NOW = datetime(2026, 3, 1, 9, 0, 0, tzinfo=timezone.utc)


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


@pytest.fixture
def patient(client, auth, make_account):
    account = make_account(users.PATIENT)
    assert auth.login(account["username"]).status_code == 302
    return account


def _idle_for(app, client, seconds):
    with client.session_transaction() as session:
        session["last_seen"] = NOW.timestamp() - seconds


def _next_of(response):
    location = urlsplit(response.headers["Location"])
    return location.path, parse_qs(location.query).get("next")


def test_the_idle_limit_holds_to_the_second(app, client, patient, monkeypatch):
    monkeypatch.setattr(app_module, "datetime", _FrozenClock)
    limit = app.config["SESSION_IDLE_MINUTES"] * 60
    _idle_for(app, client, limit)
    assert client.get("/patient/").status_code == 200
    _idle_for(app, client, limit + 1)
    response = client.get("/patient/?tab=X")
    assert response.status_code == 302
    assert _next_of(response) == ("/login", ["/patient/?tab=X"])
    with client.session_transaction() as session:
        assert session["_flashes"] == [("info", "You were signed out after a period of "
                                                "inactivity.")]
        assert "_user_id" not in session
    page = client.get("/login").get_data(as_text=True)
    assert 'class="alert alert-info' in page


def test_static_files_neither_sign_out_nor_refresh_the_clock(app, client, patient):
    _idle_for(app, client, app.config["SESSION_IDLE_MINUTES"] * 60 + 5)
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    response.close()
    assert client.get("/patient/").status_code == 302


def test_an_anonymous_visit_starts_no_idle_clock(client):
    client.get("/login")
    with client.session_transaction() as session:
        assert "last_seen" not in session


def test_the_way_back_after_signing_in_keeps_the_whole_address(client):
    response = client.get("/patient/?tab=X")
    assert response.status_code == 302
    assert _next_of(response) == ("/login", ["/patient/?tab=X"])


def test_an_account_without_an_active_flag_stays_signed_in(app, client, patient):
    as_the_app(app, "users", {"_id": patient["_id"]}, {"$unset": {"active": ""}})
    assert client.get("/patient/").status_code == 200


def test_an_account_changed_outside_the_app_is_signed_out(app, client, patient):
    get_db(app).users.update_one({"_id": patient["_id"]}, {"$set": {"role": users.ADMIN}})
    response = client.get("/patient/")
    assert response.status_code == 302 and _next_of(response)[0] == "/login"


def test_a_role_that_must_enrol_reaches_only_enrolment(tmp_path):
    strict = create_app(make_config(tmp_path, TWO_FACTOR_ROLES=(users.DOCTOR,)))
    with strict.app_context():
        doctor = users.create_user(get_db(), username="dr.enrol", role=users.DOCTOR,
                                   name="Dr Enrol", password="correct horse battery", rounds=4,
                                   verified=True)
    with strict.test_request_context():
        setup, set_password = url_for("auth.two_factor_setup"), url_for("auth.set_password")
    client = strict.test_client()
    auth = AuthActions(client)
    auth.login(doctor["username"])
    response = client.get("/doctor/")
    assert response.status_code == 302 and response.headers["Location"].endswith(setup)
    assert client.get(setup).status_code == 200
    assert client.get(set_password).status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/doctor/").headers["Location"].startswith("/login")


def test_an_account_that_must_set_its_password_reaches_only_that_page(client, auth,
                                                                       make_account):
    account = make_account(users.PATIENT, must_set_password=True)
    auth.login(account["username"])
    for path in ("/patient/", "/patient/grants"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert urlsplit(response.headers["Location"]).path == "/password", path
    assert client.get("/password").status_code == 200

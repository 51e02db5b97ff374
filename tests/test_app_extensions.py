"""What `register_extensions` and `register_session_rules` (app.py) decide from the
configuration: where rate-limit counters live, the Secure cookie and HSTS, the FHIR API's
idle sign-out, the role labels every template sees (mutation testing: scripts/mutation
sessions)."""
import pytest
from flask import Flask, render_template_string

import app as app_module
from app import create_app, limiter
from config import TestingConfig
from models.people import users
from tests.conftest import make_config

HTTPS = {"base_url": "https://localhost"}


@pytest.fixture
def storage_given_to_the_limiter(tmp_path, monkeypatch):
    """Runs `register_extensions` on a bare app with the testing configuration and `changes`,
    and answers the storage URI the limiter is given. The limiter itself is not started: on a
    mongodb:// URI it would connect at once."""
    given = []
    monkeypatch.setattr(limiter, "init_app", lambda app: given.append(
        app.config["RATELIMIT_STORAGE_URI"]))

    def register(**changes):
        bare = Flask(__name__, instance_path=str(tmp_path))
        bare.config.from_object(TestingConfig)
        bare.config.update(changes)
        app_module.register_extensions(bare)
        return given.pop()
    return register


@pytest.mark.parametrize("mongo_uri, storage", [
    ("mongodb://db.hospital.example:27017/?replicaSet=rs0",
     "mongodb://db.hospital.example:27017/?replicaSet=rs0"),
    ("mongodb+srv://cluster.hospital.example/", "mongodb+srv://cluster.hospital.example/"),
    ("mongomock://", "memory://"),
    ("", "memory://"),
    ("secantus:/var/lib/medledger/db", "memory://")])
def test_rate_limit_counters_share_a_real_mongodb_and_are_kept_in_memory_otherwise(
        storage_given_to_the_limiter, mongo_uri, storage):
    """Behind several workers, counters in memory would each allow the full limit."""
    assert storage_given_to_the_limiter(MONGO_URI=mongo_uri,
                                        RATELIMIT_STORAGE_URI=None) == storage


def test_a_configured_rate_limit_storage_is_kept(storage_given_to_the_limiter):
    assert storage_given_to_the_limiter(MONGO_URI="mongodb://db.hospital.example/",
                                        RATELIMIT_STORAGE_URI="memory://") == "memory://"


def _cookie_and_hsts(app):
    """The sign-in page over HTTPS: its form's CSRF token goes into the session cookie."""
    response = app.test_client().get("/login", **HTTPS)
    assert response.status_code == 200
    cookie = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith(app.config["SESSION_COOKIE_NAME"] + "="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    return attributes, response.headers.get("Strict-Transport-Security")


def test_secure_cookies_and_hsts_follow_session_cookie_secure(tmp_path):
    plain = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True))
    attributes, hsts = _cookie_and_hsts(plain)
    assert "httponly" in attributes and "secure" not in attributes
    assert hsts is None
    secure = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True,
                                     SESSION_COOKIE_SECURE=True))
    attributes, hsts = _cookie_and_hsts(secure)
    assert {"httponly", "secure"} <= attributes
    assert hsts is not None and hsts.startswith("max-age=")


def test_the_fhir_api_answers_an_idle_session_with_401_not_a_sign_in_page(app, client, auth,
                                                                           make_account):
    """The API never falls back to the session; an idle one is still ended, without a
    redirect an API client could not follow."""
    account = make_account(users.PATIENT)
    assert auth.login(account["username"]).status_code == 302
    with client.session_transaction() as session:
        session["last_seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    response = client.get(f"/fhir/r4/Patient/{account['human_id']}")
    assert response.status_code == 401
    assert "Location" not in response.headers
    with client.session_transaction() as session:
        assert "_user_id" not in session and "_flashes" not in session
    assert client.get("/patient/").status_code == 302


def test_every_template_sees_the_role_labels(app):
    with app.test_request_context("/"):
        shown = render_template_string("{{ ROLE_LABELS['doctor'] }}|{{ ROLE_LABELS|length }}")
    assert shown == f"{users.ROLE_LABELS['doctor']}|{len(users.ROLE_LABELS)}"

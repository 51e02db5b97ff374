"""Personal API tokens: made on the person's own page (shown once), stored hashed and MAC'd,
creation and revocation sealed, and checked on every API request: a revoked or expired
token, or the token of a disabled, locked or tampered account, stops at once; the token does
nothing anywhere but /fhir/r4/."""
import hashlib
import re
from datetime import timedelta

import pytest

from app import create_app
from models.core import clock
from models.people import account_events, api_tokens, users
from models.storage.db import get_db
from tests.conftest import as_the_app, csrf_token_from, make_config
from tests.support_people import blocks_of_kind

TOKEN_RE = re.compile(r'data-testid="new-token">(mlt_[A-Za-z0-9_-]{43})<')


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def own_log(client, account, token):
    """An authenticated API call that reads nothing clinical: the patient's own (empty) log."""
    return client.get(f"/fhir/r4/AuditEvent?patient={account['human_id']}", headers=bearer(token))


def make_token(client, name="laptop script", expires="90"):
    response = client.post("/tokens", data={"name": name, "expires": expires})
    assert response.status_code == 201, response.text
    match = TOKEN_RE.search(response.text)
    assert match, "the new token is shown"
    return match.group(1), response


@pytest.fixture
def patient(make_account):
    return make_account(users.PATIENT, "tokenpatient", name="Tia Token")


@pytest.fixture
def working(app, client, auth, patient):
    """(a new token of the signed-in patient, another client) once the token has worked."""
    auth.login(patient["username"])
    token, _ = make_token(client)
    api = app.test_client()
    assert own_log(api, patient, token).status_code == 200
    return token, api


def test_a_token_is_shown_once_stored_hashed_and_its_creation_sealed(app, client, auth, patient):
    auth.login(patient["username"])
    token, response = make_token(client)
    assert response.headers["Cache-Control"] == "no-store"
    assert len(token) == 4 + 43  # mlt_ + 32 random bytes in URL-safe base64
    later = client.get("/tokens").text
    assert token not in later and "laptop script" in later and "never" in later
    db = get_db(app)
    [doc] = db.api_tokens.find({})
    assert doc["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(doc)
    [block] = blocks_of_kind(app, api_tokens.CREATED_KIND)
    assert block["subject"] == {"token": doc["token_id"], "account": patient["human_id"]}
    assert doc["sealed_height"] == block["height"] and token not in str(block)
    assert doc["token_hash"] not in str(block)
    assert own_log(client.application.test_client(), patient, token).status_code == 200


def test_last_use_is_shown_and_written_at_most_once_a_minute(app, client, patient, working):
    token, api = working
    first = get_db(app).api_tokens.find_one({})["last_used_at"]
    assert first is not None
    assert own_log(api, patient, token).status_code == 200
    assert get_db(app).api_tokens.find_one({})["last_used_at"] == first
    assert "never" not in client.get("/tokens").text.split("token-table", 1)[1]


def test_revoking_stops_the_token_at_once_and_is_sealed(app, client, patient, working):
    token, api = working
    token_id = get_db(app).api_tokens.find_one({})["token_id"]
    response = client.post(f"/tokens/{token_id}/revoke")
    assert response.status_code == 302
    refused = own_log(api, patient, token)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert refused.get_json()["resourceType"] == "OperationOutcome"
    [block] = blocks_of_kind(app, api_tokens.REVOKED_KIND)
    assert block["subject"]["token"] == token_id
    assert client.post(f"/tokens/{token_id}/revoke").status_code == 409


def test_nobody_revokes_someone_elses_token(app, client, auth, patient, make_account):
    auth.login(patient["username"])
    token, _ = make_token(client)
    token_id = get_db(app).api_tokens.find_one({})["token_id"]
    other = make_account(users.PATIENT, "someoneelse")
    intruder = app.test_client()
    intruder.post("/login", data={"username": other["username"],
                                  "password": "correct horse battery"})
    assert intruder.post(f"/tokens/{token_id}/revoke").status_code == 404
    assert token_id not in intruder.get("/tokens").text
    assert own_log(app.test_client(), patient, token).status_code == 200


@pytest.mark.parametrize("change", ["expired", "disabled", "locked", "new password due",
                                    "forged owner", "forged state"])
def test_a_token_stops_with_its_account_or_its_expiry(app, client, auth, patient, make_account,
                                                      change):
    auth.login(patient["username"])
    token, _ = make_token(client, expires="7")
    api = app.test_client()
    assert own_log(api, patient, token).status_code == 200
    db = get_db(app)
    if change == "expired":
        as_the_app(app, "api_tokens", {"user_id": patient["human_id"]},
                   {"$set": {"expires_at": clock.now_ms() - timedelta(seconds=1)}})
    elif change == "disabled":
        admin = make_account(users.ADMIN, "tokenadmin")
        with app.app_context():
            account_events.disable_account(get_db(), patient["human_id"], admin)
    elif change == "locked":
        as_the_app(app, "users", {"_id": patient["_id"]},
                   {"$set": {"locked_until": clock.now_ms() + timedelta(minutes=5)}})
    elif change == "new password due":
        as_the_app(app, "users", {"_id": patient["_id"]}, {"$set": {"must_set_password": True}})
    elif change == "forged owner":  # an insider moves the token to another account
        other = make_account(users.PATIENT, "victim")
        db.api_tokens.update_one({}, {"$set": {"user_id": other["human_id"]}})
        assert own_log(api, other, token).status_code == 401
    else:  # an insider un-revokes a revoked token
        token_id = db.api_tokens.find_one({})["token_id"]
        assert client.post(f"/tokens/{token_id}/revoke").status_code == 302
        db.api_tokens.update_one({}, {"$set": {"state": api_tokens.ACTIVE}})
    assert own_log(api, patient, token).status_code == 401


def test_the_token_does_nothing_outside_the_api(app, client, auth, patient):
    auth.login(patient["username"])
    token, _ = make_token(client)
    stranger = app.test_client()
    response = stranger.get("/patient/", headers=bearer(token))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert stranger.get("/tokens", headers=bearer(token)).status_code == 302


def test_token_requests_get_no_cookie_and_no_cors(app, client, auth, patient):
    auth.login(patient["username"])
    token, _ = make_token(client)
    api = app.test_client(use_cookies=False)
    headers = dict(bearer(token), Origin="https://evil.example")
    for response in (own_log(api, patient, token),
                     api.get("/fhir/r4/metadata", headers=headers),
                     api.get(f"/fhir/r4/AuditEvent?patient={patient['human_id']}",
                             headers=headers),
                     api.options("/fhir/r4/metadata", headers=dict(
                         headers, **{"Access-Control-Request-Method": "GET"}))):
        assert "Set-Cookie" not in response.headers
        assert not [name for name in response.headers.keys()
                    if name.lower().startswith("access-control-")]


def test_a_bad_authorization_header_is_a_401_operation_outcome(client):
    for header in ("Bearer", "Bearer mlt_not-a-real-token", "Basic dXNlcjpwYXNz",
                   "Bearer " + "x" * 500, "Bearer mlt_" + "A" * 43):
        response = client.get("/fhir/r4/AuditEvent?patient=PAT-000001",
                              headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.mimetype == "application/fhir+json"
        assert response.get_json()["issue"][0]["code"] == "login"
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm=')


def test_names_lifetimes_and_the_number_of_tokens_are_checked(app, client, auth, patient,
                                                               monkeypatch):
    auth.login(patient["username"])
    assert client.post("/tokens", data={"name": "  ", "expires": "90"}).status_code == 400
    assert client.post("/tokens", data={"name": "x" * 81, "expires": "90"}).status_code == 400
    assert client.post("/tokens", data={"name": "ok", "expires": "12"}).status_code == 400
    make_token(client, expires="never")
    assert get_db(app).api_tokens.find_one({})["expires_at"] is None
    monkeypatch.setattr(api_tokens, "MAX_ACTIVE", 2)
    make_token(client, name="second")
    assert client.post("/tokens", data={"name": "third", "expires": "30"}).status_code == 409
    assert get_db(app).api_tokens.count_documents({}) == 2
    as_the_app(app, "api_tokens", {"name": "second"},  # an expired token no longer counts
               {"$set": {"expires_at": clock.now_ms() - timedelta(seconds=1)}})
    make_token(client, name="third")


def test_every_role_manages_its_tokens(app, make_account):
    for role in users.ROLES:
        client = app.test_client()
        account = make_account(role)
        client.post("/login", data={"username": account["username"],
                                    "password": "correct horse battery"})
        page = client.get("/tokens")
        assert page.status_code == 200 and 'data-testid="no-tokens"' in page.text, role
        make_token(client)
        token, _ = make_token(client, "second")
        asked = account if role == users.PATIENT else {"human_id": "PAT-999999"}
        answer = own_log(app.test_client(), asked, token)  # the token is accepted (no 401):
        assert answer.status_code == (200 if role == users.PATIENT else 403), role  # decided


def test_the_token_forms_carry_csrf_protection(tmp_path):
    app = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True))
    with app.app_context():
        account = users.create_user(get_db(), username="csrfpatient", role=users.PATIENT,
                                    name="Cy Srf", password="correct horse battery", rounds=4)
    client = app.test_client()
    login_page = client.get("/login").text
    client.post("/login", data={"username": account["username"],
                                "password": "correct horse battery",
                                "csrf_token": csrf_token_from(login_page)})
    page = client.get("/tokens").text
    assert csrf_token_from(page)
    assert client.post("/tokens", data={"name": "no csrf", "expires": "30"}).status_code == 400
    made = client.post("/tokens", data={"name": "with csrf", "expires": "30",
                                        "csrf_token": csrf_token_from(page)})
    assert made.status_code == 201
    token_id = get_db(app).api_tokens.find_one({})["token_id"]
    assert client.post(f"/tokens/{token_id}/revoke").status_code == 400
    assert get_db(app).api_tokens.find_one({})["state"] == api_tokens.ACTIVE


def test_an_unverified_doctors_token_reads_nothing(app, make_account):
    doctor = make_account(users.DOCTOR, "unverifiedtoken", verified=False)
    with app.app_context():
        token = api_tokens.create(get_db(), doctor, "tests")[1]
    response = app.test_client().get("/fhir/r4/Patient/PAT-000001", headers=bearer(token))
    assert response.status_code == 403
    assert "licence" in response.get_json()["issue"][0]["diagnostics"]

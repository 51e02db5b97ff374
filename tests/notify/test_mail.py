"""E-mail of new notifications through a real SMTP relay (aiosmtpd, started by the test on
127.0.0.1): the message arrives, says who did what kind of thing and nothing clinical; a read
folded into an open notification is not mailed again; no address, e-mail turned off or no relay
configured mean no message; a relay that is slow, down or refusing never slows or fails the
change, and the failure is logged without the address, the text or the relay's password."""
import asyncio
import logging
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from models.clinical import pharmacy, reading
from models.consent import workflow as consent
from models.notify import mail
from models.people import users
from models.storage.db import get_db
from models.storage.embedded import free_port
from tests.records.world import SECRET

MESSAGE = "Query Zebrafinch relapse, see Quorvaxolin dose"
ADDRESS = "pat.patient@example.org"
RELAY_PASSWORD = "relay-pw-Zq81"


class Inbox:
    """An aiosmtpd handler that keeps what it receives (and can be slow or refuse)."""

    def __init__(self, delay=0.0, refuse=False):
        self.messages, self.delay, self.refuse = [], delay, refuse

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            return "554 5.7.1 Relaying denied"
        self.messages.append((envelope.rcpt_tos,
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def relay(app):
    """Start a relay on a free port and point the app at it; stopped after the test."""
    started = []

    def start(handler=None, **options):
        handler = handler or Inbox()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        started.append(controller)
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port,
                          SMTP_FROM="medledger@hospital.example",
                          NOTIFY_EMAIL_LINK="https://medledger.hospital.example/notifications/")
        return handler

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def patient(world, app):
    get_db(app).users.update_one({"_id": world.patient["_id"]},
                                 {"$set": {"profile.email": ADDRESS}})
    return world.patient


def drained(app):
    assert mail.outbox(app).drain(20), "the outbox did not empty"


def body_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def assert_nothing_clinical(message, *also):
    whole = message.as_string()
    for value in [*SECRET.values(), "Zebrafinch", "relapse", "Quorvaxolin", *also]:
        assert value not in whole, value


def ask(world, requester):
    with world.app.app_context():
        return consent.request_access(
            get_db(), requester=requester, patient_id=world.patient["human_id"],
            scope_kind="types", type_names=["allergy", "diagnosis"], purpose="treatment",
            duration_days=30, one_time=False, message=MESSAGE)


def test_a_request_is_mailed_to_the_patient_without_clinical_values(app, world, patient, relay):
    received = relay()
    req = ask(world, world.doctor)
    drained(app)
    [(recipients, message)] = received.messages
    assert recipients == [ADDRESS]
    assert message["From"] == "medledger@hospital.example" and message["To"] == ADDRESS
    assert message["Subject"] == "MedLedger: Access request"
    body = body_of(message)
    assert "Dana Doctor" in body and "asks to read your records" in body
    assert req["request_id"] in body and "30 days" in body
    assert "https://medledger.hospital.example/notifications/" in body
    assert_nothing_clinical(message, "Allergy", "Diagnosis", patient["human_id"])


def test_a_read_is_mailed_once_without_the_record(app, world, patient, relay):
    received = relay()
    docs = [world.write(world.colleague, "diagnosis") for _ in range(3)]
    world.grant(world.doctor["human_id"])
    with app.app_context():
        for doc in docs:  # folded into one notification: one message
            reading.read_version(get_db(), world.doctor, doc["record_id"], doc["version"])
    drained(app)
    [(_, message)] = received.messages
    assert "Dana Doctor" in body_of(message) and "read one of your records" in body_of(message)
    assert_nothing_clinical(message, "Diagnosis", *[doc["record_id"] for doc in docs])


def test_dispensing_is_mailed_without_the_prescription(app, world, patient, relay):
    received = relay()
    rx = world.write(world.doctor, "prescription")
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    with app.app_context():
        pharmacy.dispense(get_db(), pharmacist=world.pharmacist, record_id=rx["record_id"],
                          version=1)
    drained(app)
    [(_, message)] = received.messages
    assert "dispensed one of your prescriptions" in body_of(message)
    assert_nothing_clinical(message, rx["record_id"])


def test_no_address_turned_off_or_no_relay_means_no_message(app, world, patient, relay, client,
                                                             auth):
    received = relay()
    assert auth.login(patient["username"]).status_code == 302
    assert client.post("/notifications/settings", data={"email": ADDRESS}).status_code == 302
    req = ask(world, world.doctor)  # the patient turned e-mail off
    with app.app_context():  # the doctor has no address: told in the app only
        consent.reject(get_db(), patient=patient, request_id=req["request_id"], note="")
    drained(app)
    assert received.messages == []
    assert get_db(app).notifications.count_documents({"recipient": world.doctor["human_id"]}) == 1
    app.config["SMTP_HOST"] = ""
    assert mail.relay(app) is None
    assert client.post("/notifications/settings", data={
        "email": ADDRESS, "email_notifications": "y"}).status_code == 302
    ask(world, world.outsider)
    drained(app)
    assert received.messages == []
    assert get_db(app).notifications.count_documents({"recipient": patient["human_id"]}) == 2


def test_a_slow_relay_never_slows_the_change(app, world, patient, relay, client, auth):
    received = relay(Inbox(delay=3))
    assert auth.login(world.doctor["username"]).status_code == 302
    started = time.monotonic()
    response = client.post(f"/doctor/patients/{patient['human_id']}/request-access", data={
        "scope": "all", "purpose": "treatment", "duration_days": "7"})
    took = time.monotonic() - started
    assert response.status_code == 302 and took < 2, took
    drained(app)
    assert len(received.messages) == 1


@pytest.mark.parametrize("failure", ["down", "refused"])
def test_a_failing_relay_never_fails_the_change_and_is_logged_without_secrets(
        app, world, patient, relay, client, auth, caplog, failure):
    if failure == "down":
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    else:
        relay(Inbox(refuse=True))
    app.config.update(SMTP_USERNAME="medledger", SMTP_PASSWORD=RELAY_PASSWORD)
    assert auth.login(world.doctor["username"]).status_code == 302
    with caplog.at_level(logging.INFO):
        response = client.post(f"/doctor/patients/{patient['human_id']}/request-access", data={
            "scope": "all", "purpose": "treatment", "duration_days": "7", "message": MESSAGE})
        drained(app)
    assert response.status_code == 302
    assert get_db(app).access_requests.count_documents({}) == 1
    assert get_db(app).notifications.count_documents({"recipient": patient["human_id"]}) == 1
    [warning] = [record for record in caplog.records if record.name == mail.__name__]
    logged = warning.getMessage()
    assert "not sent" in logged and patient["human_id"] in logged
    for secret in (ADDRESS, RELAY_PASSWORD, "Dana Doctor", "Zebrafinch"):
        assert secret not in logged, secret


class Accounts:
    """An aiosmtpd authenticator that knows one login."""

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"medledger", RELAY_PASSWORD.encode())
        return AuthResult(success=ok)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
def test_the_relay_login_is_used_when_configured(app, world, patient, relay):
    received = relay(authenticator=Accounts(), auth_required=True, auth_require_tls=False)
    app.config.update(SMTP_USERNAME="medledger", SMTP_PASSWORD="wrong", SMTP_TIMEOUT=1)
    ask(world, world.doctor)  # refused (the relay answers a failed login slowly)
    drained(app)
    assert received.messages == [] and mail.outbox(app).failed == 1
    app.config.update(SMTP_PASSWORD=RELAY_PASSWORD)
    ask(world, world.colleague)
    drained(app)
    assert len(received.messages) == 1


def test_a_patient_registered_with_an_address_is_mailed(app, world, relay, make_account):
    received = relay()
    mailed = make_account(users.PATIENT, "mailed", name="Mo Mailed",
                          profile={"email": "mo@example.org"})
    with app.app_context():
        consent.request_access(get_db(), requester=world.doctor, patient_id=mailed["human_id"],
                               scope_kind="all", type_names=[], purpose="treatment",
                               duration_days=7, one_time=False, message="")
    drained(app)
    assert [recipients for recipients, _ in received.messages] == [["mo@example.org"]]

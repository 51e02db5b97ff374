"""Fixtures in the Flask tutorial's style: `app`, `client`, `runner`, `auth`, plus account makers.

Unit tests run on mongomock. Tests marked `integration` get an app on the embedded SecantusDB
server over TCP (one server per test session, a fresh database per test).
"""
import itertools
import os
import re
import subprocess
import time

import pymongo
import pytest
from hypothesis import HealthCheck, settings

from app import create_app
from models.people import users
from models.storage.db import get_db
from models.storage.embedded import free_port, server_binary
from tests import url_builders

url_builders.install()

PASSWORD = "correct horse battery"

# Hypothesis: 25 examples per property in the default run, 200 with HYPOTHESIS_PROFILE=slow
# (README, Tests). A property that sets its own max_examples (the ledger's) keeps it.
settings.register_profile("default", max_examples=25)
settings.register_profile("slow", max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
FORM_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
"""For the form properties (hostile input posted through the test client): the examples come
from the profile; no deadline, since each example is a request."""
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def embedded_uri(tmp_path_factory):
    """A real SecantusDB server for the whole session, stopped by PID at the end."""
    path = tmp_path_factory.mktemp("secantus")
    port = free_port()
    log = open(path / "server.log", "wb")
    process = subprocess.Popen([server_binary(), "--host", "127.0.0.1", "--port", str(port),
                                "--storage-path", str(path / "data"), "--log-level", "WARNING"],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    deadline = time.monotonic() + 20
    while True:
        try:
            with pymongo.MongoClient(uri, serverSelectionTimeoutMS=300) as probe:
                probe.admin.command("ping")
            break
        except pymongo.errors.PyMongoError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("embedded server did not start")
            time.sleep(0.2)
    yield uri
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def make_config(tmp_path, **overrides):
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    config = {
        "ENV_NAME": "testing",
        "INSTANCE_PATH": str(instance),
        "DATA_KEY_FILE": str(instance / "data.key"),
        "LEDGER_KEY_FILE": str(instance / "ledger.key"),
        "AUTHORITY_KEY_FILE": str(instance / "authority.key"),
    }
    config.update(overrides)
    return config


@pytest.fixture
def app(request, tmp_path):
    overrides = {}
    if request.node.get_closest_marker("integration"):
        uri = request.getfixturevalue("embedded_uri")
        overrides = {"MONGO_URI": uri, "MONGO_DB": f"t{os.getpid()}_{next(_db_counter)}"}
    app = create_app(make_config(tmp_path, **overrides))
    yield app
    if overrides:
        with app.app_context():
            get_db().client.drop_database(app.config["MONGO_DB"])


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """The app's database, without holding an app context open (that would share `g`,
    and so the signed-in user, across test requests)."""
    return get_db(app)


class AccountMaker:
    """Creates accounts of any role directly through the model (fast, no HTTP)."""

    def __init__(self, app):
        self.app = app
        self.counter = itertools.count(1)

    def __call__(self, role, username=None, password=PASSWORD, **fields):
        username = username or f"{role}{next(self.counter)}"
        fields.setdefault("name", f"Test {role.replace('_', ' ').title()}")
        if role == users.DOCTOR:
            fields.setdefault("verified", True)
        with self.app.app_context():
            return users.create_user(get_db(), username=username, role=role, password=password,
                                     rounds=4, **fields)


@pytest.fixture
def make_account(app):
    return AccountMaker(app)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username, password=PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


def csrf_token_from(html):
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    return match.group(1) if match else None


def as_the_app(app, collection, query, update):
    """Change a protected document the way the app's models do (its authority MAC rewritten
    in the same update): for test set-ups that need a state no route reaches quickly (a lock
    already expired, say). A raw `update_one` instead is what an insider does, and every
    decision refuses the document afterwards."""
    from models.storage import authority
    with app.app_context():
        changed = authority.transition_where(get_db(app)[collection], query, update)
    assert changed is not None, (collection, query)
    return changed

"""One world for the matrices derived from the url_map (CSRF, IDOR, roles): an inside of every
role that owns what the registry (tests/access/matrix_registry.py) builds, and a stranger of
every role who owns none of it (another hospital, pharmacy, lab, research institute, patient).

Built once per test module: the people and their signed-in clients are shared; each matrix
cell builds its own fresh resource through the models, so no cell depends on another.
"""
import hashlib
import itertools
from dataclasses import dataclass, field

from flask import Flask

from app import create_app, register_blueprints
from models.people import organizations, users
from models.storage.db import get_db
from tests.conftest import PASSWORD, csrf_token_from, make_config
from tests.records.world import PDF, SECRET

NOT_IDS = {"version", "index", "action", "type_name", "resource_type", "filename", "rest",
           "height", "size"}
"""Path arguments that name no one's object; every other argument (a new one too) is an id."""

COLLEAGUE = "colleague"
"""The stranger who is another doctor of the inside doctor's own hospital."""
ORGS = {"hospital": organizations.HOSPITAL, "pharmacy": organizations.PHARMACY,
        "lab": organizations.LAB, "research": organizations.RESEARCH}
HOME = {users.DOCTOR: "hospital", users.FRONT_DESK: "hospital", users.ORG_MANAGER: "hospital",
        users.PHARMACIST: "pharmacy", users.LAB_TECH: "lab", users.RESEARCHER: "research"}


@dataclass
class MatrixWorld:
    app: object
    orgs: dict = field(default_factory=dict)        # "hospital" -> the inside's organization
    inside: dict = field(default_factory=dict)      # role -> the account that owns things
    strangers: dict = field(default_factory=dict)   # role (or COLLEAGUE) -> owns nothing here
    clients: dict = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    cache: dict = field(default_factory=dict)       # what the cells only read, built once

    @property
    def key(self):
        return self.app.extensions["medledger"]["data_key"]

    def call(self, fn, *args, **kwargs):
        with self.app.app_context():
            return fn(get_db(), *args, **kwargs)

    def account(self, role, org=None, **fields):
        """A new account of `role` (of the inside's organization of its kind unless `org`)."""
        n = next(self.counter)
        org = org or self.orgs.get(HOME.get(role))
        if org:
            fields.setdefault("org_id", org["human_id"])
        if role == users.DOCTOR:
            fields.setdefault("verified", True)
        if role == users.PATIENT:
            fields.setdefault("profile", {"date_of_birth": "1970-01-01", "sex": "female",
                                          "postcode": "12345"})
        return self.call(users.create_user, username=f"{role}.m{n}", role=role,
                         name=f"Matrix {role.replace('_', ' ').title()} {n}",
                         password=PASSWORD, rounds=4, **fields)

    def client_of(self, account):
        """A test client signed in as `account` (kept for the module); None: anonymous."""
        name = account["username"] if account else None
        if name not in self.clients:
            client = self.app.test_client()
            if account:
                sign_in(client, account)
            self.clients[name] = client
        return self.clients[name]

    def fingerprint(self):
        """Every document of every collection, hashed: a refused request must leave it as it
        was (the ledger's blocks are documents too, so its tip is in it)."""
        db = get_db(self.app)
        digest = {}
        for name in sorted(db.list_collection_names()):
            docs = sorted(repr(sorted(doc.items())) for doc in db[name].find({}))
            digest[name] = (len(docs), hashlib.sha256("\n".join(docs).encode()).hexdigest())
        return digest


def sign_in(client, account):
    """Sign in through the form, with its CSRF token when the app checks one."""
    token = csrf_token_from(client.get("/login").text)
    data = {"username": account["username"], "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 302, (account["username"], response.status_code)


def url_map():
    """The app's routes without an app instance (no database, no keys): for collection, so
    each route is its own test case."""
    flask_app = Flask(__name__)
    register_blueprints(flask_app)
    return flask_app.url_map


def build_world(tmp_path, **config):
    app = create_app(make_config(tmp_path, RATELIMIT_ENABLED=False, **config))
    world = MatrixWorld(app)
    strange = {}
    for name, kind in ORGS.items():
        world.orgs[name] = world.call(organizations.create, name=f"Inside {name}", kind=kind)
        strange[name] = world.call(organizations.create, name=f"Stranger {name}", kind=kind)
    for role in users.ROLES:
        world.inside[role] = world.account(role)
        home = HOME.get(role)
        world.strangers[role] = world.account(role, org=strange[home] if home else None)
    world.inside["pharmacy_manager"] = world.account(users.ORG_MANAGER, org=world.orgs["pharmacy"])
    world.strangers[COLLEAGUE] = world.account(users.DOCTOR)  # the inside doctor's hospital
    for account in (*world.inside.values(), *world.strangers.values()):
        world.client_of(account)  # signed in now: a sign-in writes to the account
    return world


def leaks(body):
    """The clinical values of tests/records/world.py (and its attached file) in a response."""
    text = body.decode(errors="replace")
    found = [secret for secret in SECRET.values() if secret in text
             and secret != SECRET["general"]]  # a weight, "72.5", can be anything on a page
    return found + (["the attached file"] if PDF in body else [])

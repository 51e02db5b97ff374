"""Fixtures and helpers shared by the people-and-organizations tests.

Test folders import the fixtures they need in their own conftest.py. Database checks use
`get_db(app)` without pushing an app context (as the `db` fixture does), so test-client
requests never share `flask.g`; model calls that seal on the ledger push one briefly.
"""
import io

import pytest

from models.people import organizations, users, verification
from models.storage.db import get_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
ANONYMOUS = "anonymous"


def store(app):
    return get_db(app)


def snapshot(app):
    """What a refused request must leave untouched: account, organization, licence, block counts."""
    db = store(app)
    return {name: db[name].count_documents({})
            for name in ("users", "organizations", "licences.files", "licences.chunks", "ledger_blocks")}


def blocks_of_kind(app, kind):
    return list(store(app).ledger_blocks.find({"kind": kind}))


def make_org(app, name, kind=organizations.HOSPITAL):
    with app.app_context():
        return organizations.create(get_db(), name=name, kind=kind)


def upload_licence(client, data, filename="licence.pdf", content_type="application/pdf"):
    return client.post("/doctor/verification", content_type="multipart/form-data",
                       data={"licence": (io.BytesIO(data), filename, content_type)})


def submit_pending(app, doctor, data=PDF):
    """Move a doctor to pending through the model (as if they had uploaded `data`)."""
    with app.app_context():
        return verification.submit_licence(get_db(), doctor, data, "licence.pdf",
                                           app.config["MAX_ATTACHMENT_BYTES"])


def fresh(app, account):
    return store(app).users.find_one({"_id": account["_id"]})


def login_as(auth, make_account, role, **fields):
    """None for anonymous; otherwise a new account of `role`, signed in."""
    if role == ANONYMOUS:
        return None
    account = make_account(role, **fields)
    response = auth.login(account["username"])
    assert response.status_code == 302, response.data
    return account


def assert_refused(response, role):
    """Anonymous → sent to sign in; a signed-in wrong role → 403."""
    if role == ANONYMOUS:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403


@pytest.fixture
def org(app):
    return make_org(app, "St. Test General Hospital")


@pytest.fixture
def other_org(app):
    return make_org(app, "Other Side Clinic", organizations.CLINIC)


@pytest.fixture
def manager(make_account, org):
    return make_account(users.ORG_MANAGER, username="manager.test", org_id=org["human_id"])


@pytest.fixture
def other_manager(make_account, other_org):
    return make_account(users.ORG_MANAGER, username="manager.other", org_id=other_org["human_id"])


@pytest.fixture
def admin(make_account):
    return make_account(users.ADMIN, username="admin.test")


@pytest.fixture
def pending_doctor(app, make_account, org):
    doctor = make_account(users.DOCTOR, username="dr.pending", name="Pat Pending",
                          org_id=org["human_id"], verified=False)
    return submit_pending(app, doctor)

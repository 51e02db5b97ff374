"""The tamper drill in a real browser: a grant widened in MongoDB, the auditor runs the audit
from the page, watches it finish, and the report names the problem and links to the block."""
import re

import pytest

from models.consent import workflow as consent
from models.people import organizations, users, verification
from models.storage.db import get_db
from tests.conftest import as_the_app
from tests.auditor_support import GENERAL

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _people(app):
    with app.app_context():
        db = get_db()
        hospital = organizations.create(db, name="Drill Hospital", kind=organizations.HOSPITAL)
        make = lambda role, name, **kw: users.create_user(  # noqa: E731
            db, username=name, role=role, name=name.title(), password=PASSWORD, rounds=4, **kw)
        admin = make(users.ADMIN, "drill.admin")
        doctor = make(users.DOCTOR, "drill.doctor", org_id=hospital["human_id"], verified=True)
        as_the_app(app, "users", {"_id": doctor["_id"]}, {"$set": {"verification.state": "pending"}})
        verification.approve(db, doctor["human_id"], admin)
        patient = make(users.PATIENT, "drill.patient")
        make(users.AUDITOR, "drill.auditor")
        from models.clinical import records
        records.create(db, app.extensions["medledger"]["data_key"], author=doctor,
                       patient_id=patient["human_id"], type_name="general", raw=dict(GENERAL),
                       max_bytes=app.config["MAX_ATTACHMENT_BYTES"])
        grant = consent.grant_proactively(
            db, patient=patient, grantee=doctor["human_id"], scope_kind="types",
            type_names=["general"], purpose="treatment", duration_days=7, one_time=False)
        db.grants.update_one({"_id": grant["_id"]}, {"$set": {"scope": {"kind": "all"}}})
    return grant


def test_the_auditor_sees_a_widened_grant_in_the_browser(live_server, page):
    grant = _people(live_server.app())
    page.goto(live_server.url + "/login")
    page.fill("#username", "drill.auditor")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.click('[data-testid="nav-auditor-audits"]')
    page.click("#submit")
    report = page.locator('[data-testid="audit-report"]')
    report.wait_for(timeout=60000)
    assert page.locator('[data-testid="verdict"]').first.get_attribute("data-verdict") == "tampered"
    rows = page.locator('[data-testid="problem"]')
    assert rows.count() == 2  # the block's view of the grant, and its own authority code
    forged = rows.nth(1)
    assert forged.get_attribute("data-kind") == "unauthenticated-document"
    assert forged.locator('[data-testid="problem-attribute"]').inner_text() == "scope"
    assert grant["grant_id"] in forged.inner_text()
    row = rows.nth(0)
    assert row.get_attribute("data-kind") == "attribute-mismatch"
    assert row.get_attribute("data-height") == str(grant["sealed_height"])
    assert row.locator('[data-testid="problem-attribute"]').inner_text() == "scope"
    assert grant["grant_id"] in row.inner_text()
    row.locator('[data-testid="problem-block-link"]').click()
    page.wait_for_url(re.compile(rf"/auditor/blocks/{grant['sealed_height']}$"))
    assert page.locator('[data-testid="block-kind"]').inner_text() == "access.granted"
    assert page.locator('[data-testid="proof-ok"], [data-testid="proof-note"]').count() == 1

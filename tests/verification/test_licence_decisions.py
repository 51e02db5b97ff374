"""The admin's side of the licence queue: review, download, approve (sealed), reject (reason)."""
import pytest
from ledger.attributes import find_mismatches

from models.core.errors import Conflict
from models.people import users, verification
from models.sealing import reconcile, seam
from models.sealing.registry import ATTRIBUTE_SOURCES, COVERAGE
from models.storage.db import get_db
from tests.support_people import (ANONYMOUS, PNG, assert_refused, blocks_of_kind, fresh, login_as,
                                  snapshot, store, submit_pending, upload_licence)


def review_urls(doctor):
    base = f"/admin/verifications/{doctor['human_id']}"
    return [("GET", "/admin/verifications"), ("GET", base), ("GET", base + "/licence"),
            ("POST", base + "/approve"), ("POST", base + "/reject")]


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.ADMIN] + [ANONYMOUS])
def test_only_admins_reach_the_queue_and_decide(app, client, auth, make_account, pending_doctor, role):
    login_as(auth, make_account, role)
    before = snapshot(app)
    for method, url in review_urls(pending_doctor):
        assert_refused(client.open(url, method=method, data={"reason": "forged"}), role)
    assert snapshot(app) == before
    assert fresh(app, pending_doctor)["verification"]["state"] == "pending"


def test_the_queue_lists_pending_doctors_with_their_organization(client, auth, admin, org,
                                                                  pending_doctor, make_account):
    make_account(users.DOCTOR, username="dr.idle", verified=False)  # never uploaded: not queued
    auth.login(admin["username"])
    page = client.get("/admin/verifications")
    assert page.status_code == 200
    assert page.data.count(b'data-testid="queue-row"') == 1
    assert pending_doctor["human_id"].encode() in page.data
    assert org["human_id"].encode() in page.data and b"St. Test General Hospital" in page.data


def test_the_licence_downloads_as_an_attachment_with_the_sniffed_type(app, client, auth, admin,
                                                                      make_account, org):
    doctor = make_account(users.DOCTOR, username="dr.png", org_id=org["human_id"], verified=False)
    submit_pending(app, doctor, PNG)
    auth.login(admin["username"])
    response = client.get(f"/admin/verifications/{doctor['human_id']}/licence")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == f"attachment; filename=licence-{doctor['human_id']}.png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_doctor_and_missing_licence_are_404(client, auth, admin, make_account):
    idle = make_account(users.DOCTOR, username="dr.idle", verified=False)
    auth.login(admin["username"])
    assert client.get("/admin/verifications/DOC-999999").status_code == 404
    assert client.get(f"/admin/verifications/{idle['human_id']}/licence").status_code == 404
    assert client.post("/admin/verifications/DOC-999999/approve").status_code == 404


def test_approval_verifies_once_and_seals_one_account_verified_block(app, client, auth, admin,
                                                                     org, pending_doctor):
    auth.login(admin["username"])
    response = client.post(f"/admin/verifications/{pending_doctor['human_id']}/approve")
    assert response.status_code == 302
    doc = fresh(app, pending_doctor)
    assert doc["verification"]["state"] == "verified"
    assert doc["verification"]["decided_by"] == admin["human_id"]
    blocks = blocks_of_kind(app, "account.verified")
    assert len(blocks) == 1
    block = blocks[0]
    assert block["subject"] == {"account": pending_doctor["human_id"]}
    assert block["actor"] == admin["actor"]
    assert doc["verification"]["sealed_height"] == block["height"]
    # a second click is a clear 409 and no second block
    again = client.post(f"/admin/verifications/{pending_doctor['human_id']}/approve")
    assert again.status_code == 409
    assert b"no licence waiting" in again.data
    assert len(blocks_of_kind(app, "account.verified")) == 1
    # the sealed attributes match the document and name what was verified
    attributes, salts = ATTRIBUTE_SOURCES["account.verified"](store(app), block, None)
    assert attributes["account"] == pending_doctor["human_id"]
    assert attributes["organization"] == org["human_id"]
    assert attributes["licence_sha256"] == doc["verification"]["licence"]["sha256"]
    assert attributes["decided_by"] == admin["actor"]
    assert find_mismatches(attributes, salts, [bytes.fromhex(h) for h in block["attr_leaves"]]) == []


def test_the_verified_doctor_now_reaches_the_dashboard(app, client, auth, admin, pending_doctor):
    auth.login(admin["username"])
    client.post(f"/admin/verifications/{pending_doctor['human_id']}/approve")
    auth.logout()
    auth.login(pending_doctor["username"])
    assert client.get("/doctor/").status_code == 200


def test_rejection_keeps_the_reason_and_lets_the_doctor_upload_again(app, client, auth, admin,
                                                                    pending_doctor):
    auth.login(admin["username"])
    response = client.post(f"/admin/verifications/{pending_doctor['human_id']}/reject",
                           data={"reason": "The scan is unreadable."})
    assert response.status_code == 302
    assert fresh(app, pending_doctor)["verification"]["state"] == "rejected"
    assert blocks_of_kind(app, "account.verified") == []
    assert client.post(f"/admin/verifications/{pending_doctor['human_id']}/reject",
                       data={"reason": "twice"}).status_code == 409
    auth.logout()

    auth.login(pending_doctor["username"])
    assert client.get("/doctor/").headers["Location"] == "/doctor/verification"
    page = client.get("/doctor/verification")
    assert b'data-state="rejected"' in page.data and b"The scan is unreadable." in page.data
    assert upload_licence(client, PNG, "better.png", "image/png").status_code == 302
    doc = fresh(app, pending_doctor)
    assert doc["verification"]["state"] == "pending"
    assert doc["verification"]["licence"]["media_type"] == "image/png"
    assert doc["verification_history"][0]["reason"] == "The scan is unreadable."


@pytest.mark.parametrize("reason", ["", "  ", "no", "x" * 501])
def test_a_rejection_needs_a_real_reason(app, client, auth, admin, pending_doctor, reason):
    auth.login(admin["username"])
    response = client.post(f"/admin/verifications/{pending_doctor['human_id']}/reject",
                           data={"reason": reason})
    assert response.status_code == 400
    assert b'name="reason"' in response.data and b"invalid-feedback" in response.data
    assert fresh(app, pending_doctor)["verification"]["state"] == "pending"


def test_model_refuses_a_decision_on_a_doctor_who_is_not_pending(app, admin, make_account):
    idle = make_account(users.DOCTOR, username="dr.idle", verified=False)
    with app.app_context():
        with pytest.raises(Conflict):
            verification.approve(get_db(), idle["human_id"], admin)
        with pytest.raises(Conflict):
            verification.reject(get_db(), idle["human_id"], admin, "a fine reason")
    assert blocks_of_kind(app, "account.verified") == []


def test_a_failed_seal_leaves_the_verification_pending_until_reconcile(
        app, admin, pending_doctor, monkeypatch):
    """The approval is written with its pending marker; while its block is missing the doctor
    is not verified in force, and reconcile then seals it (nothing to approve again)."""
    def broken_seal(*args, **kwargs):
        raise RuntimeError("ledger unavailable")
    monkeypatch.setattr(seam, "seal", broken_seal)
    with app.app_context():
        with pytest.raises(RuntimeError):
            verification.approve(get_db(), pending_doctor["human_id"], admin)
    doc = fresh(app, pending_doctor)
    assert users.User(doc).needs_verification
    assert blocks_of_kind(app, "account.verified") == []
    monkeypatch.undo()
    with app.app_context():
        findings = reconcile.reconcile(get_db(), app.extensions["medledger"]["data_key"],
                                       grace=0)
    assert [finding.action for finding in findings] == ["sealed"]
    doc = fresh(app, pending_doctor)
    assert not users.User(doc).needs_verification
    sealed = blocks_of_kind(app, "account.verified")[0]
    assert doc["verification"]["sealed_height"] == sealed["height"]


def approve(app, admin, doctor):
    with app.app_context():
        return verification.approve(get_db(), doctor["human_id"], admin)


def test_a_direct_database_edit_shows_as_an_attribute_mismatch(app, admin, pending_doctor):
    approve(app, admin, pending_doctor)
    block = blocks_of_kind(app, "account.verified")[0]
    store(app).users.update_one({"_id": pending_doctor["_id"]},
                                {"$set": {"org_id": "ORG-9999", "verification.licence.sha256": "0" * 64}})
    attributes, salts = ATTRIBUTE_SOURCES["account.verified"](store(app), block, None)
    leaves = [bytes.fromhex(h) for h in block["attr_leaves"]]
    assert sorted(find_mismatches(attributes, salts, leaves)) == ["licence_sha256", "organization"]


def test_coverage_reports_a_verified_doctor_without_a_block(app, admin, pending_doctor, make_account):
    approve(app, admin, pending_doctor)
    forged = make_account(users.DOCTOR, username="dr.forged", verified=False)
    store(app).users.update_one({"_id": forged["_id"]}, {"$set": {"verification.state": "verified"}})
    covered = {doc_id: height for fn in COVERAGE for collection, doc_id, height in fn(store(app))
               if collection == "users"}
    block = blocks_of_kind(app, "account.verified")[0]
    assert covered[pending_doctor["human_id"]] == block["height"]
    assert covered[forged["human_id"]] is None


def test_a_block_whose_document_no_longer_points_at_it_has_no_source(app, admin, pending_doctor):
    approve(app, admin, pending_doctor)
    block = blocks_of_kind(app, "account.verified")[0]
    store(app).users.update_one({"_id": pending_doctor["_id"]},
                                {"$set": {"verification.sealed_height": block["height"] + 7}})
    assert ATTRIBUTE_SOURCES["account.verified"](store(app), block, None) is None
    store(app).users.delete_one({"_id": pending_doctor["_id"]})
    assert ATTRIBUTE_SOURCES["account.verified"](store(app), block, None) is None

"""The doctor's side: an unverified doctor reaches only the verification page and uploads a
licence whose type is read from its content, within the size limit."""
import pytest

from models.people import users
from tests.support_people import (ANONYMOUS, JPEG, PDF, PNG, assert_refused, fresh, login_as,
                                  snapshot, store, upload_licence)


@pytest.fixture
def unverified(app, auth, make_account, org):
    doctor = make_account(users.DOCTOR, username="dr.new", org_id=org["human_id"], verified=False)
    auth.login(doctor["username"])
    return doctor


def test_unverified_doctor_signs_in_and_is_sent_to_the_verification_page(client, unverified):
    response = client.get("/doctor/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/doctor/verification"
    page = client.get("/doctor/verification")
    assert page.status_code == 200
    assert b'data-state="unverified"' in page.data
    assert b'name="licence"' in page.data


@pytest.mark.parametrize("role", [r for r in users.ROLES if r != users.DOCTOR] + [ANONYMOUS])
def test_only_doctors_reach_the_verification_page(client, auth, make_account, role):
    login_as(auth, make_account, role)
    assert_refused(client.get("/doctor/verification"), role)
    assert_refused(upload_licence(client, PDF), role)


@pytest.mark.parametrize("data,media_type", [(PDF, "application/pdf"), (PNG, "image/png"),
                                              (JPEG, "image/jpeg")])
def test_upload_moves_the_doctor_to_pending_with_the_sniffed_type(app, client, unverified, data,
                                                                   media_type):
    # The browser claims a PDF every time; the stored type comes from the bytes.
    response = upload_licence(client, data, "scan.pdf", "application/pdf")
    assert response.status_code == 302
    verification = fresh(app, unverified)["verification"]
    assert verification["state"] == "pending"
    assert verification["licence"]["media_type"] == media_type
    assert verification["licence"]["size"] == len(data)
    stored = store(app)["licences.files"].find_one({"_id": verification["licence"]["file_id"]})
    assert stored["length"] == len(data)
    page = client.get("/doctor/verification")
    assert b'data-state="pending"' in page.data and b'name="licence"' not in page.data


@pytest.mark.parametrize("data", [b"GIF89a not a licence", b"<html>%PDF-</html>", b"\x00" * 64,
                                  b"MZ\x90\x00 an executable"])
def test_a_pdf_name_with_other_content_is_refused_and_nothing_is_stored(app, client, unverified,
                                                                         data):
    before = snapshot(app)
    response = upload_licence(client, data, "licence.pdf", "application/pdf")
    assert response.status_code == 400
    assert b"PDF, PNG or JPEG" in response.data
    assert snapshot(app) == before
    assert fresh(app, unverified)["verification"]["state"] == "unverified"


def test_an_empty_file_is_refused(app, client, unverified):
    before = snapshot(app)
    response = upload_licence(client, b"", "licence.pdf")
    assert response.status_code == 400
    assert snapshot(app) == before


def test_a_post_without_a_file_is_a_400_with_a_message(app, client, unverified):
    response = client.post("/doctor/verification", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert b"Choose a file." in response.data
    assert fresh(app, unverified)["verification"]["state"] == "unverified"


def test_a_licence_over_the_limit_is_a_413_and_nothing_is_stored(app, client, unverified):
    app.config["MAX_ATTACHMENT_BYTES"] = 1024
    before = snapshot(app)
    response = upload_licence(client, PDF + b"0" * 1024, "licence.pdf")
    assert response.status_code == 413
    assert b"at most 1,024 bytes" in response.data
    assert snapshot(app) == before
    assert fresh(app, unverified)["verification"]["state"] == "unverified"
    # exactly at the limit is fine
    assert upload_licence(client, PDF + b"0" * (1024 - len(PDF)), "licence.pdf").status_code == 302


def test_a_request_over_max_content_length_is_a_413(app, client, unverified):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    before = snapshot(app)
    response = upload_licence(client, PDF + b"0" * 4096)
    assert response.status_code == 413
    assert snapshot(app) == before


def test_a_second_upload_while_pending_is_a_409(app, client, unverified):
    assert upload_licence(client, PDF).status_code == 302
    before = snapshot(app)
    response = upload_licence(client, PNG, "other.png", "image/png")
    assert response.status_code == 409
    assert b"already waiting for review" in response.data
    assert snapshot(app) == before
    assert fresh(app, unverified)["verification"]["licence"]["media_type"] == "application/pdf"


def test_a_verified_doctor_sees_their_status_and_cannot_upload(app, client, auth, make_account):
    doctor = make_account(users.DOCTOR, username="dr.done")
    auth.login(doctor["username"])
    page = client.get("/doctor/verification")
    assert page.status_code == 200
    assert b'data-state="verified"' in page.data and b'name="licence"' not in page.data
    before = snapshot(app)
    assert upload_licence(client, PDF).status_code == 409
    assert snapshot(app) == before

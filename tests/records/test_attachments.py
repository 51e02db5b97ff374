"""Attachments: typed by content, size-limited (413), encrypted in GridFS with their SHA-256
sealed, downloaded with the right headers, and access-checked and logged like the record."""
import hashlib
import io

import bson
import pytest

from models.clinical import records
from models.core.errors import InvalidInput, TooLarge
from models.storage import attachments, crypto
from models.storage.db import get_db
from tests.records.world import DICOM, JPEG, PDF, PNG, VALID, upload


@pytest.mark.parametrize("data,media_type", [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (DICOM, "application/dicom"),
    (b"GIF89a" + b"\x00" * 200, None), (b"<html><script>", None), (b"\x00" * 131 + b"D", None),
    (b"", None), (b"MZ\x90\x00", None),
])
def test_type_is_sniffed_from_the_content(data, media_type):
    assert attachments.sniff(data) == media_type


@pytest.mark.parametrize("name,media_type,expected", [
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("C:\\Users\\x\\scan.PDF", "application/pdf", "scan.PDF"),
    ("photo.jpeg", "image/jpeg", "photo.jpeg"),
    ("report.pdf", "image/png", "report.png"),
    ('evil"\r\nname.png', "image/png", "evilname.png"),
    ("", "application/dicom", "attachment.dcm"),
])
def test_names_are_made_safe_with_a_fitting_extension(name, media_type, expected):
    assert attachments.safe_name(name, media_type) == expected


def test_a_browser_content_type_is_not_trusted(world):
    with pytest.raises(InvalidInput) as caught:
        attachments.check([upload(b"<svg onload=alert(1)>", "x.pdf")], 10**6)
    assert "not a PDF, PNG, JPEG or DICOM" in caught.value.field_errors["files"]


def test_the_size_limit_is_the_configured_one(world):
    limit = len(PDF) + 10
    attachments.check([upload(PDF + b"\x00" * 10)], limit)
    with pytest.raises(TooLarge):
        attachments.check([upload(PDF + b"\x00" * 11)], limit)


def test_files_are_encrypted_at_rest_and_their_hash_is_sealed(world):
    secret_pdf = PDF + b"Glymmerase secret result"
    doc = world.write(world.patient, "patient_provided", uploads=[upload(secret_pdf, "lab.pdf")])
    meta = doc["attachments"][0]
    assert meta["sha256"] == hashlib.sha256(secret_pdf).hexdigest()
    with world.app.app_context():
        db = get_db()
        chunks = b"".join(bson.encode(chunk) for chunk in db["attachments.chunks"].find())
        assert b"Glymmerase" not in chunks and b"%PDF" not in chunks
        payload = records.open_payload(world.key, db.records.find_one({"_id": doc["_id"]}))
        assert "attachments" in payload["salts"]
        assert attachments.read(db, world.key, doc["patient_id"], meta) == secret_pdf


def test_an_edited_or_swapped_file_fails_on_read(world):
    one = world.write(world.patient, "patient_provided", uploads=[upload(PDF, "a.pdf")])
    two = world.write(world.patient, "patient_provided", uploads=[upload(PNG, "b.png")])
    with world.app.app_context():
        db = get_db()
        with pytest.raises(crypto.TamperedCiphertext):
            # the metadata of one file pointing at the other's stored bytes
            attachments.read(db, world.key, one["patient_id"],
                             dict(one["attachments"][0], file_id=two["attachments"][0]["file_id"]))
        db["attachments.chunks"].update_one({"files_id": one["attachments"][0]["file_id"]},
                                            {"$set": {"data": bson.Binary(b"\x00" * 64)}})
        with pytest.raises(crypto.TamperedCiphertext):
            attachments.read(db, world.key, one["patient_id"], one["attachments"][0])


def _lab_report_form(data, name="result.pdf"):
    return dict(VALID["lab_report"], files=[(io.BytesIO(data), name)])


def test_too_large_a_file_is_413_and_nothing_is_kept(world, client, auth):
    world.app.config["MAX_ATTACHMENT_BYTES"] = 1024
    auth.login(world.doctor["username"])
    response = client.post(f"/doctor/patients/{world.patient['human_id']}/records/new/lab_report",
                           data=_lab_report_form(PDF + b"\x00" * 1024),
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "larger than the limit" in response.text
    assert (world.count("records"), world.count("attachments.files")) == (0, 0)


def test_a_file_of_an_unaccepted_type_is_400_and_nothing_is_kept(world, client, auth):
    auth.login(world.doctor["username"])
    response = client.post(f"/doctor/patients/{world.patient['human_id']}/records/new/lab_report",
                           data=_lab_report_form(b"GIF89a....", "x.pdf"),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "checked from its content" in response.text
    assert (world.count("records"), world.count("attachments.files")) == (0, 0)


def test_download_has_the_sniffed_type_and_a_disposition_and_is_logged(world, client, auth):
    world.grant(world.lab["human_id"], scope_kind="types", types=["lab_report"])
    doc = world.write(world.lab_tech, "lab_report", uploads=[upload(PDF, "glucose.pdf")])
    world.grant(world.doctor["human_id"])
    auth.login(world.doctor["username"])
    response = client.get(f"/doctor/records/{doc['record_id']}/v1/files/0")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "glucose.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    read = world.find_one("record_reads", {})
    assert (read["item"], read["viewer_id"]) == ("file glucose.pdf", world.doctor["human_id"])


def test_download_is_refused_without_access_and_for_a_missing_index(world, client, auth):
    doc = world.write(world.patient, "patient_provided", uploads=[upload(PDF, "mine.pdf")])
    auth.login(world.doctor["username"])
    assert client.get(f"/doctor/records/{doc['record_id']}/v1/files/0").status_code == 403
    assert client.get(f"/doctor/records/{doc['record_id']}/v1/files/7").status_code == 404
    assert world.count("record_reads") == 0
    auth.logout()
    auth.login(world.patient["username"])
    mine = client.get(f"/patient/records/{doc['record_id']}/v1/files/0")
    assert mine.status_code == 200 and mine.data == PDF
    assert world.count("record_reads") == 0  # a patient reading their own leaves no trace


def test_adding_files_makes_a_new_sealed_version(world, client, auth):
    doc = world.write(world.doctor, "imaging", uploads=[upload(PNG, "a.png")])
    auth.login(world.doctor["username"])
    response = client.post(f"/doctor/records/{doc['record_id']}/v1/files",
                           data={"files": [(io.BytesIO(DICOM), "ct.dcm")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    new = world.find_one("records", {"record_id": doc["record_id"], "version": 2})
    assert [f["name"] for f in new["attachments"]] == ["a.png", "ct.dcm"]
    assert records.data_of(world.key, new)["findings"] == VALID["imaging"]["findings"]
    assert world.find_one("records", {"record_id": doc["record_id"], "version": 1})["status"] == "amended"

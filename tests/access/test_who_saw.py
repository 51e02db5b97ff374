"""Every read by someone other than the patient is sealed and listed on "Who saw my records",
filterable and downloadable as CSV; the patient can download all their records as JSON."""
import base64
import csv
import io
import json

import pytest

from models.clinical import audit_trail
from tests.records.world import PDF, SECRET, VALID, upload


def test_a_read_is_sealed_and_listed_for_the_patient(world, client, auth):
    rec = world.write(world.outsider, "diagnosis")
    grant = world.grant(world.doctor["human_id"])
    auth.login(world.doctor["username"])
    page = client.get(f"/doctor/records/{rec['record_id']}/v1")
    assert page.status_code == 200 and SECRET["diagnosis"] in page.text
    entry = world.find_one("record_reads", {})
    assert (entry["viewer_id"], entry["org_id"], entry["basis"]) == (
        world.doctor["human_id"], world.hospital_a["human_id"], f"grant {grant['grant_id']}")
    block = world.find_one("ledger_blocks", {"_id": entry["sealed_height"]})
    assert (block["kind"], block["subject"]) == ("record.read", {"record": rec["record_id"], "version": 1})
    assert block["actor"] == world.doctor["actor"] and SECRET["diagnosis"] not in str(block)
    auth.logout()
    auth.login(world.patient["username"])
    log = client.get("/patient/access-log")
    assert log.text.count('data-testid="who-saw-row"') == 1
    for shown in (world.doctor["name"], world.doctor["human_id"], "Saint Anne Hospital",
                  rec["record_id"], grant["grant_id"]):
        assert shown in log.text


def test_the_patient_reading_their_own_records_leaves_no_entry(world, client, auth):
    rec = world.write(world.doctor, "note")
    auth.login(world.patient["username"])
    assert client.get(f"/patient/records/{rec['record_id']}/v1").status_code == 200
    assert client.get("/patient/").status_code == 200
    assert world.count("record_reads") == 0
    assert world.count("ledger_blocks", {"kind": "record.read"}) == 0


def test_the_log_filters_by_reader_record_and_day(world, client, auth):
    one = world.write(world.doctor, "note")
    two = world.write(world.colleague, "allergy")
    world.grant(world.hospital_a["human_id"])
    for account, rec in ((world.doctor, one), (world.doctor, two), (world.colleague, one)):
        auth.login(account["username"])
        assert client.get(f"/doctor/records/{rec['record_id']}/v1").status_code == 200
        auth.logout()
    auth.login(world.patient["username"])
    rows = lambda response: response.text.count('data-testid="who-saw-row"')  # noqa: E731
    assert rows(client.get("/patient/access-log")) == 3
    assert rows(client.get(f"/patient/access-log?viewer={world.colleague['human_id'].lower()}")) == 1
    assert rows(client.get(f"/patient/access-log?record={one['record_id']}")) == 2
    assert rows(client.get("/patient/access-log?since=2000-01-01&until=2000-12-31")) == 0
    # A name, or part of one, finds the reader too (it used to match nobody).
    assert rows(client.get("/patient/access-log?viewer=carl")) == 1
    assert rows(client.get("/patient/access-log?viewer=Dana+DOCTOR")) == 2


@pytest.mark.parametrize("query, field, message", [
    ("since=not-a-date", "since", "Enter a date as YYYY-MM-DD"),
    ("until=2025-13-40", "until", "Enter a date as YYYY-MM-DD"),
    ("since=2025-03-10&until=2025-03-01", "until", "is before the start date"),
    ("record=R12", "record", "Enter a record id such as PAT-000001-R3"),
    ("record=Dana+Doctor", "record", "Enter a record id such as PAT-000001-R3"),
    ("viewer=103", "viewer", "Enter a name (or part of one) or an id"),
    ("viewer=" + "x" * 81, "viewer", "at most 80 characters"),
])
def test_a_bad_filter_is_a_400_on_its_field_never_a_silent_list(world, client, auth, query, field,
                                                                   message):
    rec = world.write(world.doctor, "note")
    world.grant(world.colleague["human_id"])
    auth.login(world.colleague["username"])
    assert client.get(f"/doctor/records/{rec['record_id']}/v1").status_code == 200
    auth.logout()
    auth.login(world.patient["username"])
    page = client.get(f"/patient/access-log?{query}")
    assert page.status_code == 400
    assert 'data-testid="who-saw-row"' not in page.text
    assert f'data-testid="filter-error-{field}"' in page.text and message in page.text
    assert f'aria-describedby="{field}-error"' in page.text
    assert 'data-testid="filter-error-summary"' in page.text
    csv_download = client.get(f"/patient/access-log.csv?{query}")
    assert csv_download.status_code == 400 and csv_download.mimetype == "text/html"


def test_the_csv_download_has_one_row_per_read(world, client, auth):
    rec = world.write(world.outsider, "note")
    auth.login(world.outsider["username"])
    client.get(f"/doctor/records/{rec['record_id']}/v1")
    client.get(f"/doctor/records/{rec['record_id']}/v1")
    auth.logout()
    auth.login(world.patient["username"])
    response = client.get(f"/patient/access-log.csv?viewer={world.outsider['human_id']}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(audit_trail.CSV_COLUMNS)
    assert len(rows) == 3
    assert rows[1][1] == world.outsider["human_id"] and rows[1][5] == rec["record_id"]
    assert rows[1][9] == "author"


def test_csv_cells_cannot_run_as_formulas():
    entry = {"at": __import__("datetime").datetime(2025, 1, 1), "viewer_id": "DOC-000001",
             "viewer_name": "=HYPERLINK(\"http://x\")", "viewer_role": "doctor", "org_id": None,
             "record_id": "PAT-000001-R1", "version": 1, "record_type": "note", "item": None,
             "basis": "author"}
    rows = list(csv.reader(io.StringIO(audit_trail.as_csv([entry]))))
    assert rows[1][2].startswith("'=")


def test_the_patient_downloads_all_own_records_as_json(world, client, auth):
    world.write(world.doctor, "general")
    note = world.write(world.doctor, "note")
    with world.app.app_context():
        from models.clinical import records
        from models.storage.db import get_db
        records.amend(get_db(), world.key, author=world.doctor, record_id=note["record_id"],
                      version=1, raw=dict(VALID["note"], title="Second"), max_bytes=10**6)
    document_with_file = world.write(world.patient, "patient_provided", uploads=[upload(PDF)])
    world.write(world.doctor, "allergy", patient=world.other_patient)
    auth.login(world.patient["username"])
    response = client.get("/patient/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.data)
    assert document["patient"]["id"] == world.patient["human_id"]
    versions = [(item["record_id"], item["version"]) for item in document["records"]]
    assert len(versions) == 4
    by_type = {item["type"]: item for item in document["records"]}
    assert by_type["general"]["data"]["bmi"] == "22.4"
    assert by_type["patient_provided"]["data"]["symptoms"] == VALID["patient_provided"]["symptoms"]
    assert SECRET["allergy"] not in response.text  # another patient's record
    assert "box" not in response.text and "salts" not in response.text
    sha = document_with_file["attachments"][0]["sha256"]
    assert by_type["patient_provided"]["attachments"][0]["sha256"] == sha
    assert base64.b64decode(document["files"][sha]["content_base64"]) == PDF
    assert list(document["files"]) == [sha]

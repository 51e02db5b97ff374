"""Pharmacists see prescriptions shared with their pharmacy and dispense them once (sealed);
lab technicians attach lab reports for patients who granted the lab."""
import io

from models.clinical import records
from tests.records.world import PDF, SECRET, VALID


def _shared_prescription(world, **grant):
    rx = world.write(world.doctor, "prescription")
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"], **grant)
    return rx


def test_the_pharmacist_sees_shared_prescriptions_only(world, client, auth):
    shared = _shared_prescription(world)
    world.write(world.doctor, "prescription", patient=world.other_patient)  # not shared
    world.write(world.doctor, "diagnosis")  # shared with nobody, and not a prescription
    auth.login(world.pharmacist["username"])
    page = client.get("/staff/")
    assert page.text.count('data-testid="prescription-row"') == 1
    assert shared["record_id"] in page.text
    assert SECRET["prescription"] not in page.text  # the list shows no clinical values
    assert world.count("record_reads") == 0
    detail = client.get(f"/staff/records/{shared['record_id']}/v1")
    assert detail.status_code == 200 and SECRET["prescription"] in detail.text
    assert world.find_one("record_reads", {})["viewer_id"] == world.pharmacist["human_id"]


def test_dispensing_is_sealed_and_happens_once(world, client, auth):
    rx = _shared_prescription(world)
    auth.login(world.pharmacist["username"])
    assert client.post(f"/staff/prescriptions/{rx['record_id']}/v1/dispense").status_code == 302
    stored = world.find_one("records", {"_id": rx["_id"]})
    assert (stored["rx_status"], stored["dispense"]["by"], stored["dispense"]["pharmacy"]) == (
        records.RX_DISPENSED, world.pharmacist["human_id"], world.pharmacy["human_id"])
    block = world.find_one("ledger_blocks", {"_id": stored["dispense"]["sealed_height"]})
    assert block["kind"] == "record.dispensed"
    assert block["subject"] == {"record": rx["record_id"], "version": 1}
    again = client.post(f"/staff/prescriptions/{rx['record_id']}/v1/dispense")
    assert again.status_code == 409 and "already dispensed" in again.text
    assert world.count("ledger_blocks", {"kind": "record.dispensed"}) == 1


def test_a_prescription_not_shared_cannot_be_dispensed(world, client, auth):
    rx = world.write(world.doctor, "prescription")
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["allergy"])
    auth.login(world.pharmacist["username"])
    assert client.post(f"/staff/prescriptions/{rx['record_id']}/v1/dispense").status_code == 403
    assert world.find_one("records", {"_id": rx["_id"]})["rx_status"] == records.RX_ACTIVE


def test_a_one_time_share_serves_the_read_and_then_the_dispensing(world, client, auth):
    rx = _shared_prescription(world, one_time=True)
    auth.login(world.pharmacist["username"])
    assert client.get(f"/staff/records/{rx['record_id']}/v1").status_code == 200
    assert client.get(f"/staff/records/{rx['record_id']}/v1").status_code == 403  # used up
    assert client.post(f"/staff/prescriptions/{rx['record_id']}/v1/dispense").status_code == 302


def test_an_amended_prescription_is_dispensed_in_its_current_version(world, client, auth):
    rx = _shared_prescription(world)
    with world.app.app_context():
        from models.storage.db import get_db
        records.amend(get_db(), world.key, author=world.doctor, record_id=rx["record_id"], version=1,
                      raw=dict(VALID["prescription"], quantity="30"), max_bytes=10**6)
    auth.login(world.pharmacist["username"])
    assert client.post(f"/staff/prescriptions/{rx['record_id']}/v1/dispense").status_code == 409
    assert client.post(f"/staff/prescriptions/{rx['record_id']}/v2/dispense").status_code == 302


def test_the_lab_attaches_reports_only_where_granted(world, client, auth):
    auth.login(world.lab_tech["username"])
    url = f"/staff/lab/patients/{world.patient['human_id']}/reports/new"
    assert client.get(url).status_code == 403
    world.grant(world.lab["human_id"], scope_kind="types", types=["lab_report"])
    found = client.get(f"/staff/lab/patients?human_id={world.patient['human_id'].lower()}")
    assert found.status_code == 302 and found.headers["Location"].endswith(url)
    response = client.post(url, data=dict(VALID["lab_report"], files=[(io.BytesIO(PDF), "r.pdf")]),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    report = world.find_one("records", {})
    assert (report["type"], report["author_id"], report["org_id"]) == (
        "lab_report", world.lab_tech["human_id"], world.lab["human_id"])
    assert client.get(f"/staff/records/{report['record_id']}/v1").status_code == 200
    assert report["record_id"] in client.get("/staff/").text
    other = client.post(f"/staff/lab/patients/{world.other_patient['human_id']}/reports/new",
                        data=VALID["lab_report"])
    assert other.status_code == 403
    assert world.count("records") == 1


def test_the_prescriber_cancels_an_active_prescription_once(world, client, auth):
    rx = _shared_prescription(world)
    dispensed = _shared_prescription(world)
    auth.login(world.colleague["username"])
    url = f"/doctor/records/{rx['record_id']}/v1/cancel-prescription"
    assert client.post(url, data={"reason": "Wrong drug"}).status_code == 403
    auth.logout()
    auth.login(world.pharmacist["username"])
    client.post(f"/staff/prescriptions/{dispensed['record_id']}/v1/dispense")
    auth.logout()
    auth.login(world.doctor["username"])
    assert client.post(url, data={"reason": ""}).status_code == 400
    assert client.post(url, data={"reason": "Interaction with warfarin"}).status_code == 302
    stored = world.find_one("records", {"_id": rx["_id"]})
    assert (stored["rx_status"], stored["rx_cancel"]["reason"]) == ("cancelled", "Interaction with warfarin")
    block = world.find_one("ledger_blocks", {"_id": stored["rx_cancel"]["sealed_height"]})
    assert block["kind"] == records.RX_CANCELLED_KIND
    assert 'data-testid="cancelled-note"' in client.get(f"/doctor/records/{rx['record_id']}/v1").text
    assert client.post(url, data={"reason": "again"}).status_code == 409
    late = f"/doctor/records/{dispensed['record_id']}/v1/cancel-prescription"
    assert client.post(late, data={"reason": "Too late"}).status_code == 409
    auth.logout()
    auth.login(world.pharmacist["username"])
    refused = client.post(f"/staff/prescriptions/{rx['record_id']}/v1/dispense")
    assert refused.status_code == 409 and "cancelled" in refused.text

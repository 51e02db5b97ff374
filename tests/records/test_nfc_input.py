"""Text typed in NFD (a combining accent, as some keyboards and pastes produce) is stored and
sealed in NFC: the ledger refuses to seal anything else, so the web input normalises first."""
import unicodedata

from ledger.receipt import verify_receipt

from models.sealing import audit_jobs
from models.sealing import trust as ledger_trust
from models.storage.db import get_db
from tests.records.world import VALID

NFD_REASON = "Wrong patient: Zoe\u0301 not Zoey"
NFD_TEXT = "Cafe\u0301 visit, patient reports marbleflux improvement"


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def _block_problems(app):
    """The audit's problems about blocks (this world's doctors were verified without a block,
    which the audit reports apart, with no height)."""
    with app.app_context():
        report = audit_jobs.run_audit(get_db(), app)
    return [p.line() for p in report.problems if p.height is not None]


def test_an_nfd_reason_is_stored_and_sealed_in_nfc(world, client, auth):
    doc = world.write(world.doctor, "allergy")
    _login(auth, world.doctor)
    url = f"/doctor/records/{doc['record_id']}/v1/entered-in-error"
    assert client.post(url, data={"reason": NFD_REASON}).status_code == 302
    stored = world.find_one("records", {"record_id": doc["record_id"], "version": 1})
    assert stored["status"] == "entered-in-error"
    assert stored["error"]["reason"] == unicodedata.normalize("NFC", NFD_REASON) != NFD_REASON
    assert not stored.get("pending"), stored.get("pending")
    assert _block_problems(world.app) == []


def test_an_nfd_record_typed_in_the_form_verifies_in_a_receipt(world, client, auth):
    _login(auth, world.doctor)
    new = f"/doctor/patients/{world.patient['human_id']}/records/new/note"
    data = {**VALID["note"], "text": NFD_TEXT}
    assert client.post(new, data=data).status_code == 302
    written = world.find_one("records", {"type": "note", "patient_id": world.patient["human_id"]})
    url = f"/doctor/records/{written['record_id']}/v1/receipt"
    response = client.post(url, data={"disclose": ["data.text"]})
    assert response.status_code == 200, response.data[:500]
    receipt = response.get_json()
    assert receipt["disclosed"][0]["value"] == unicodedata.normalize("NFC", NFD_TEXT)
    assert verify_receipt(response.data, ledger_trust.verifiers(world.app))[0]
    assert _block_problems(world.app) == []

"""Receipts: patients for their own records, doctors for what they wrote; checkable offline,
and any altered byte makes verification fail with a reason."""
import json
import subprocess
import sys

import pytest
from ledger.receipt import verify_receipt

from models.people import users
from models.sealing import trust as ledger_trust
from models.storage.db import get_db
from tests.auditor_support import GENERAL, ROLES_AND_ANONYMOUS, login, populate

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.fixture
def made(sealed_world):
    return populate(sealed_world)


def receipt_url(role, record):
    return f"/{role}/records/{record['record_id']}/v{record['version']}/receipt"


def take(client, role, record, disclose=()):
    response = client.post(receipt_url(role, record), data={"disclose": list(disclose)})
    assert response.status_code == 200, response.data[:2000]
    assert response.mimetype == "application/json"
    return response.get_json()


def test_a_patient_takes_a_receipt_disclosing_chosen_attributes(app, client, sealed_world, made):
    login(client, sealed_world.patient)
    record = made["records"]["general"]
    form = client.get(receipt_url("patient", record)).get_data(as_text=True)
    assert 'value="data.weight_kg"' in form and "Weight (kg)" in form
    receipt = take(client, "patient", record, ["data.weight_kg", "type"])
    assert receipt["format"] == "medledger-receipt/2"  # the compact format is what is handed out
    assert receipt["block"]["height"] == record["sealed_height"]
    assert {d["name"]: d["value"] for d in receipt["disclosed"]} == {
        "data.weight_kg": GENERAL["weight_kg"], "type": "general"}
    ok, summary = verify_receipt(receipt, ledger_trust.verifiers(app))
    assert ok, summary
    assert GENERAL["height_cm"] not in json.dumps(receipt)


def test_a_receipt_without_disclosure_reveals_no_value(app, client, sealed_world, made):
    login(client, sealed_world.patient)
    receipt = take(client, "patient", made["records"]["diagnosis"])
    assert receipt["disclosed"] == []
    assert "Zebrafinch" not in json.dumps(receipt)
    assert verify_receipt(receipt, ledger_trust.verifiers(app))[0]


def test_the_doctor_who_wrote_it_takes_a_receipt(app, client, sealed_world, made):
    login(client, sealed_world.doctor)
    listing = client.get("/doctor/receipts").get_data(as_text=True)
    assert made["amended"]["record_id"] in listing
    receipt = take(client, "doctor", made["amended"], ["data.text"])
    assert receipt["disclosed"][0]["value"] == "Second marbleflux visit"
    assert verify_receipt(receipt, ledger_trust.verifiers(app))[0]


def test_a_receipt_makes_a_checkpoint_when_none_covers_the_block(app, client, sealed_world, made):
    db = get_db(app)
    assert db.ledger_checkpoints.count_documents({}) == 0
    login(client, sealed_world.patient)
    receipt = take(client, "patient", made["records"]["general"])
    assert db.ledger_checkpoints.count_documents({}) == 1
    ok, summary = verify_receipt(receipt, ledger_trust.verifiers(app))
    assert ok and f"in the log of size {db.ledger_blocks.count_documents({})};" in summary


@pytest.mark.parametrize("who", ["other_patient", "colleague", "outsider"])
def test_nobody_else_gets_a_receipt_for_that_record(app, client, sealed_world, made, who):
    account = getattr(sealed_world, who)
    role = "patient" if account["role"] == users.PATIENT else "doctor"
    login(client, account)
    record = made["records"]["general"]
    assert client.get(receipt_url(role, record)).status_code == 404
    assert client.post(receipt_url(role, record)).status_code == 404
    assert record["record_id"] not in client.get(f"/{role}/receipts").get_data(as_text=True)


@pytest.mark.parametrize("role", [r for r in ROLES_AND_ANONYMOUS
                                  if r not in (users.PATIENT, users.DOCTOR)])
def test_other_roles_are_refused(app, client, make_account, made, role):
    if role != "anonymous":
        login(client, make_account(role))
    record = made["records"]["general"]
    for area in ("patient", "doctor"):
        for method in ("GET", "POST"):
            response = client.open(receipt_url(area, record), method=method)
            assert response.status_code == (302 if role == "anonymous" else 403), (area, method)
        assert client.get(f"/{area}/receipts").status_code == (302 if role == "anonymous" else 403)


def test_a_patient_cannot_use_the_doctor_route_and_vice_versa(app, client, sealed_world, made):
    login(client, sealed_world.patient)
    assert client.get(receipt_url("doctor", made["records"]["general"])).status_code == 403


def test_unknown_attributes_are_refused_and_nothing_is_made(app, client, sealed_world, made):
    login(client, sealed_world.patient)
    db = get_db(app)
    response = client.post(receipt_url("patient", made["records"]["general"]),
                           data={"disclose": ["data.weight_kg", "data.nonsense"]})
    assert response.status_code == 400
    assert b"is not a valid choice" in response.data
    assert db.ledger_checkpoints.count_documents({}) == 0


def test_a_tampered_record_gets_no_receipt(app, client, sealed_world, made):
    record = made["records"]["general"]
    get_db(app).records.update_one({"_id": record["_id"]}, {"$set": {"box.tag": b"\x00" * 16}})
    login(client, sealed_world.patient)
    response = client.post(receipt_url("patient", record), data={"disclose": ["type"]})
    assert response.status_code == 409
    assert b"integrity check" in response.data


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _offline(receipt_path, pubkey_path):
    return subprocess.run([sys.executable, "-m", "ledger", "verify-receipt", receipt_path,
                           "--pubkey", pubkey_path], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_receipts_verify_offline_and_fail_with_a_reason_when_altered(app, client, sealed_world,
                                                                    made, tmp_path):
    login(client, sealed_world.patient)
    response = client.post(receipt_url("patient", made["records"]["allergy"]),
                           data={"disclose": ["data.substance", "data.severity"]})
    raw = response.get_data()
    pubkey = _write(tmp_path, "ledger.pub", (str(ledger_trust.signing_key(app).public()) + "\n").encode())
    good = _offline(_write(tmp_path, "receipt.json", raw), pubkey)
    assert good.returncode == 0 and good.stdout.startswith("VALID: "), good.stdout + good.stderr
    assert "data.severity, data.substance" in good.stdout
    for position in (raw.index(b'"height"') + 10, raw.index(b"Penicillanthrax") + 3,
                     raw.index(b'"checkpoint"') + 40, len(raw) // 2):
        altered = bytearray(raw)
        altered[position] ^= 0x01
        bad = _offline(_write(tmp_path, f"altered-{position}.json", bytes(altered)), pubkey)
        assert bad.returncode == 1, (position, bad.stdout)
        assert bad.stdout.startswith("INVALID: ") and len(bad.stdout.strip()) > len("INVALID: ")


def test_every_single_byte_alteration_is_rejected(app, client, sealed_world, made):
    """Flip each byte of a receipt file (two ways) and check the verifier rejects every one."""
    login(client, sealed_world.patient)
    raw = client.post(receipt_url("patient", made["records"]["general"]),
                      data={"disclose": ["data.blood_group_abo"]}).get_data()
    verifiers = ledger_trust.verifiers(app)

    def accepted(data):
        try:
            receipt = json.loads(data.decode("utf-8"))
        except ValueError:
            return False
        return verify_receipt(receipt, verifiers)[0]

    assert accepted(raw)
    survivors = []
    for position in range(len(raw)):
        for mask in (0x01, 0x20):
            altered = bytearray(raw)
            altered[position] ^= mask
            if accepted(bytes(altered)):
                survivors.append((position, mask, raw[max(0, position - 20):position + 20]))
    assert survivors == []

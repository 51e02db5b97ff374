"""Whoever holds a receipt can check it from any folder with two downloads (the ledger's
public keys and the checker) and one command line, with nothing of this app installed; the
receipt pages explain this in words, not heights and attribute names."""
import os
import subprocess
import sys

import pytest

from models.sealing import verifier_kit
from tests.auditor_support import login, populate


@pytest.fixture
def made(sealed_world):
    return populate(sealed_world)


def _run_in(folder, *args):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, verifier_kit.CHECKER_NAME, *args], cwd=folder,
                          capture_output=True, text=True, timeout=60, env=env)


def _download(client, url, folder, name):
    response = client.get(url)
    assert response.status_code == 200, url
    assert f"filename={name}" in response.headers["Content-Disposition"]
    (folder / name).write_bytes(response.get_data())


@pytest.mark.parametrize("role", ["patient", "doctor"])
def test_a_receipt_checks_from_any_folder_with_the_downloads(client, sealed_world, made, tmp_path,
                                                             role):
    login(client, getattr(sealed_world, role))
    record = made["records"]["allergy"]
    receipt = client.post(f"/{role}/records/{record['record_id']}/v{record['version']}/receipt",
                          data={"disclose": ["data.substance"]})
    assert receipt.status_code == 200
    (tmp_path / "receipt.json").write_bytes(receipt.get_data())
    _download(client, f"/{role}/receipts/{verifier_kit.KEYS_NAME}", tmp_path, verifier_kit.KEYS_NAME)
    _download(client, f"/{role}/receipts/{verifier_kit.CHECKER_NAME}", tmp_path,
              verifier_kit.CHECKER_NAME)
    command = verifier_kit.command("receipt.json").split()[2:]  # after "python medledger-verify.pyz"
    good = _run_in(tmp_path, *command)
    assert good.returncode == 0 and good.stdout.startswith("VALID: "), good.stdout + good.stderr
    raw = bytearray((tmp_path / "receipt.json").read_bytes())
    raw[raw.index(b"Penicillanthrax") + 3] ^= 0x01
    (tmp_path / "receipt.json").write_bytes(bytes(raw))
    bad = _run_in(tmp_path, *command)
    assert bad.returncode == 1 and bad.stdout.startswith("INVALID: ")


def test_the_receipt_pages_explain_in_words(client, sealed_world, made):
    login(client, sealed_world.patient)
    listing = client.get("/patient/receipts").get_data(as_text=True)
    assert 'data-testid="how-to-check"' in listing and verifier_kit.KEYS_NAME in listing
    assert "--pubkey ledger.pub" not in listing  # a key file patients could not download
    record = made["records"]["general"]
    page = client.get(f"/patient/records/{record['record_id']}/v{record['version']}/receipt")
    text = page.get_data(as_text=True)
    assert "Verified on the ledger ✓" in text
    assert "ledger height" not in text and "salt" not in text
    assert "Weight (kg)" in text and "(data.weight_kg)" not in text
    assert f"receipt-{record['record_id']}-v{record['version']}.json" in text


def test_only_those_who_may_hold_a_receipt_download_the_kit(client, sealed_world):
    assert client.get(f"/patient/receipts/{verifier_kit.CHECKER_NAME}").status_code in (302, 401)
    login(client, sealed_world.auditor)
    assert client.get(f"/patient/receipts/{verifier_kit.KEYS_NAME}").status_code == 403

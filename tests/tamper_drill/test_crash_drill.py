"""Kill the app process between writing a record and appending its block, restart, and show
that the audit sees the gap and `flask ledger reconcile` seals it with nothing lost."""
import http.cookiejar
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from models.clinical import records
from models.sealing import reconcile
from models.storage.db import get_db
from models.storage.embedded import free_port
from tests.auditor_support import GENERAL, login, web_audit

pytestmark = pytest.mark.integration
ROOT = __file__.rsplit("/tests/", 1)[0]


class AppProcess:
    def __init__(self, app, **overrides):
        self.port = free_port()
        config = {"ENV_NAME": "testing", "INSTANCE_PATH": app.instance_path,
                  "DATA_KEY_FILE": app.config["DATA_KEY_FILE"],
                  "LEDGER_KEY_FILE": app.config["LEDGER_KEY_FILE"],
                  "MONGO_URI": app.config["MONGO_URI"], "MONGO_DB": app.config["MONGO_DB"]}
        config.update(overrides)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.tamper_drill.crash_server", str(self.port), json.dumps(config)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        deadline = time.monotonic() + 30
        while True:
            try:
                self.opener.open(self.url + "/login", timeout=2)
                return
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the app process did not start"
                time.sleep(0.2)

    def post(self, path, data):
        body = urllib.parse.urlencode(data, doseq=True).encode()
        return self.opener.open(self.url + path, data=body, timeout=30)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process.stderr.close()


def test_a_crash_between_record_and_block_is_found_and_reconciled(app, client, runner,
                                                                   sealed_world):
    world = sealed_world
    db = get_db(app)
    blocks_before = db.ledger_blocks.count_documents({})
    crashing = AppProcess(app, FAULT_INJECT_AFTER_DOCUMENT_WRITE="record.created")
    try:
        crashing.post("/login", {"username": world.doctor["username"],
                                 "password": "correct horse battery"})
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            crashing.post(f"/doctor/patients/{world.patient['human_id']}/records/new/general",
                          dict(GENERAL, sensitivity="normal", submit="Save record"))
        assert crashing.process.wait(10) == reconcile.FAULT_EXIT_CODE
        assert b"fault injection" in crashing.process.stderr.read()
    finally:
        crashing.stop()

    orphan = db.records.find_one({"patient_id": world.patient["human_id"]})
    assert orphan is not None and orphan["sealed_height"] is None
    assert db.ledger_blocks.count_documents({}) == blocks_before

    # Restarted (without the fault): the app serves again; the audit reports the gap.
    restarted = AppProcess(app)
    try:
        restarted.post("/login", {"username": world.doctor["username"],
                                  "password": "correct horse battery"})
    finally:
        restarted.stop()
    login(client, world.auditor)
    job = web_audit(client, app)
    assert [(p["kind"], p["record"]) for p in job["report"]["problems"]] == \
        [("unsealed-document", f"{orphan['record_id']} v1")]

    dry = runner.invoke(args=["ledger", "reconcile", "--dry-run", "--grace", "0"])
    assert dry.exit_code == 1 and f"{orphan['record_id']} v1" in dry.output and "would seal" in dry.output
    assert db.records.find_one({"_id": orphan["_id"]})["sealed_height"] is None

    result = runner.invoke(args=["ledger", "reconcile", "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert "sealed" in result.output and "0 left for a person" in result.output
    sealed = db.records.find_one({"_id": orphan["_id"]})
    block = db.ledger_blocks.find_one({"_id": sealed["sealed_height"]})
    assert block["kind"] == "record.created"
    assert block["subject"] == {"record": orphan["record_id"], "version": 1}
    assert block["actor"] == world.doctor["actor"]
    data = records.data_of(world.key, sealed)
    assert {name: str(data[name]) for name in GENERAL} == GENERAL  # nothing lost
    assert web_audit(client, app)["report"]["ok"]
    again = runner.invoke(args=["ledger", "reconcile"])
    assert again.exit_code == 0 and "0 finding(s)" in again.output

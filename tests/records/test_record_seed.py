"""`flask seed-demo --records N`: realistic demo records in bulk, sealed like real ones, and
a second run creates nothing new."""
import re

import pytest

from cli.seed import DEMO_PASSWORD
from models.clinical import records
from models.core import record_types
from models.sealing import audit_jobs as ledger_audit
from models.storage.db import get_db


@pytest.mark.parametrize("tier", [pytest.param("mongomock"),
                                  pytest.param("embedded", marks=pytest.mark.integration)])
def test_seeded_records_are_valid_sealed_and_idempotent(app, runner, tier):
    result = runner.invoke(args=["seed-demo", "--patients", "6", "--doctors", "2", "--records", "40"])
    assert result.exit_code == 0, result.output
    assert "Created 40 demo records" in result.output
    with app.app_context():
        db = get_db()
        docs = list(db.records.find({}))
        assert len(docs) == 40
        assert len({doc["patient_id"] for doc in docs}) == 6
        assert len({doc["type"] for doc in docs}) >= 5
        key = app.extensions["medledger"]["data_key"]
        for doc in docs:
            data = records.data_of(key, doc)
            assert set(data) == set(record_types.TYPES[doc["type"]].field_names)
        again = runner.invoke(args=["seed-demo", "--patients", "6", "--doctors", "2", "--records", "40"])
        assert again.exit_code == 0, again.output
        assert db.records.count_documents({}) == 40
        report = ledger_audit.run_audit(db)
        assert report.problems == [] and report.ok
        # the auditor's blocks-per-day chart counts the bulk-loaded blocks too
        assert sum(doc["n"] for doc in db.ledger_daily.find({})) == report.size
        # the app keeps appending after the bulk load
        doctor = db.users.find_one({"role": "doctor"})
        patient = db.users.find_one({"role": "patient"})
        written = records.create(db, key, author=doctor, patient_id=patient["human_id"],
                                 type_name="note", raw={"title": "After seeding", "text": "ok"},
                                 max_bytes=10**6)
        had = sum(1 for doc in docs if doc["patient_id"] == patient["human_id"])
        assert written["record_id"] == f"{patient['human_id']}-R{had + 1}"
        assert ledger_audit.run_audit(db).ok


def _blood_groups(html):
    """The (ABO, Rh) pairs the patient's dashboard shows, one per general record card."""
    abo = re.findall(r'<dt class="col-sm-4">Blood group \(ABO\)</dt>\s*<dd[^>]*>([^<]*)</dd>', html)
    rh = re.findall(r'<dt class="col-sm-4">Blood group \(Rh\)</dt>\s*<dd[^>]*>([^<]*)</dd>', html)
    assert len(abo) == len(rh)
    return list(zip(abo, rh))


def test_each_demo_patient_has_one_blood_group_across_their_records(app, runner, client, auth):
    result = runner.invoke(args=["seed-demo", "--patients", "4", "--doctors", "2", "--records", "120"])
    assert result.exit_code == 0, result.output
    db = get_db(app)
    key = app.extensions["medledger"]["data_key"]
    groups, heights, counts = {}, {}, {}
    for doc in db.records.find({"type": "general"}):
        data = records.data_of(key, doc)
        patient = doc["patient_id"]
        counts[patient] = counts.get(patient, 0) + 1
        groups.setdefault(patient, set()).add((data["blood_group_abo"], data["blood_group_rh"]))
        heights.setdefault(patient, set()).add(data["height_cm"])
    assert len(counts) == 4 and min(counts.values()) > 3  # enough records to disagree
    assert {patient: len(found) for patient, found in groups.items()} == dict.fromkeys(groups, 1)
    assert {patient: len(found) for patient, found in heights.items()} == dict.fromkeys(heights, 1)
    # what the patient sees: every general record card on their page names the same group
    assert auth.login("patient00001", DEMO_PASSWORD).status_code == 302
    shown = _blood_groups(client.get("/patient/").get_data(as_text=True))
    assert len(shown) > 3 and len(set(shown)) == 1

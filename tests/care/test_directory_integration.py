"""The directory on the embedded SecantusDB server (real pymongo over TCP): its queries (prefix
ranges, equalities, `$in` with `superseded_by: None`) answer as on mongomock, the unique index
stops a second version 1, and the audit is sound."""
import pytest

from models.care import doctor_directory
from models.core.errors import Conflict
from models.sealing import audit_jobs
from models.storage.db import get_db
from tests.care.conftest import MONDAY_NIGHT, utc

pytestmark = pytest.mark.integration


def test_search_edit_and_audit_on_the_embedded_server(sealed_doctors, monkeypatch):
    found = sealed_doctors
    app = found.app
    found.edit(found.heartley, found.heartley, department="Ward 1")
    found.edit(found.manager_a, found.heartley, department="Ward 2", windows=MONDAY_NIGHT)
    found.edit(found.beats, found.beats)
    monday_night = utc(2026, 1, 5, 23, 0)
    results = found.search(specialty="cardiology", now=monday_night)
    assert [(listing["name"], listing["entry"]["department"], listing["on_call_now"])
            for listing in results.items] == [("Bruno Beats", "Cardiology ward B", False),
                                              ("Carla Heartley", "Ward 2", True)]
    assert [listing["human_id"] for listing in found.search(
        name="carla", org_id=found.world.hospital_a["human_id"], on_call_only=True,
        now=monday_night).items] == [found.heartley["human_id"]]
    monkeypatch.setattr(doctor_directory, "current_entry", lambda db, doctor_id: None)
    with pytest.raises(Conflict):
        found.edit(found.beats, found.beats)
    monkeypatch.undo()
    with app.app_context():
        db = get_db()
        assert db.directory_entries.count_documents({}) == 3
        assert audit_jobs.run_audit(db, app).ok

"""The emergency-access review queue: details, the reads made, and a sealed verdict."""
import re

import pytest

from models.clinical import audit_trail
from models.consent import access, emergency
from models.storage.db import get_db
from tests.auditor_support import after_window, login, populate


@pytest.fixture
def case(sealed_world, client):
    made = populate(sealed_world)
    login(client, sealed_world.auditor)
    return made


def test_the_queue_lists_each_emergency_with_doctor_patient_reason_and_times(app, client, case):
    emergency_case = case["emergency"]
    body = client.get("/auditor/emergencies").get_data(as_text=True)
    row = body[body.index(f'data-emergency-id="{emergency_case["emergency_id"]}"'):]
    row = row[:row.index("</tr>")]
    for text in (emergency_case["doctor_id"], emergency_case["doctor_name"],
                 emergency_case["patient_id"], "Unconscious on arrival, needs history",
                 emergency_case["opened_at"].strftime("%Y-%m-%d %H:%M"),
                 emergency_case["ends_at"].strftime("%Y-%m-%d %H:%M")):
        assert text in row, text


def test_the_case_page_shows_the_reads_made_during_it(app, client, case):
    emergency_case, read = case["emergency"], case["read"]
    body = client.get(f"/auditor/emergencies/{emergency_case['emergency_id']}").get_data(as_text=True)
    assert body.count('data-testid="emergency-read"') == 1
    assert read["record_id"] in body and f'/auditor/blocks/{read["sealed_height"]}' in body
    assert f"emergency {emergency_case['emergency_id']}" in body


def test_a_review_is_sealed_and_leaves_the_queue(app, client, sealed_world, case, monkeypatch):
    emergency_id = case["emergency"]["emergency_id"]
    after_window(monkeypatch, case["emergency"])
    db = get_db(app)
    blocks = db.ledger_blocks.count_documents({})
    response = client.post(f"/auditor/emergencies/{emergency_id}",
                           data={"verdict": "unjustified", "note": "No ER admission on record"})
    assert response.status_code == 302
    stored = emergency.get(db, emergency_id)
    assert stored["review_state"] == emergency.UNJUSTIFIED
    assert stored["review"]["by"] == sealed_world.auditor["human_id"]
    sealed = db.ledger_blocks.find_one({"_id": blocks})
    assert sealed["kind"] == "emergency.reviewed"
    assert sealed["subject"] == {"emergency": emergency_id}
    assert sealed["actor"] == sealed_world.auditor["actor"]
    queue = client.get("/auditor/emergencies").get_data(as_text=True)
    assert 'data-testid="queue-empty"' in queue and "not justified" in queue
    again = client.post(f"/auditor/emergencies/{emergency_id}", data={"verdict": "justified"})
    assert again.status_code == 409
    assert db.ledger_blocks.count_documents({}) == blocks + 1


@pytest.mark.parametrize("data, message", [
    ({"note": "no verdict chosen"}, b"Choose justified or not justified."),
    ({"verdict": "maybe"}, b"Not a valid choice"),
    ({"verdict": "justified", "note": "x" * 1001}, b"Field cannot be longer than 1000"),
])
def test_a_bad_review_is_refused_and_nothing_is_sealed(app, client, case, data, message,
                                                        monkeypatch):
    emergency_id = case["emergency"]["emergency_id"]
    after_window(monkeypatch, case["emergency"])
    db = get_db(app)
    blocks = db.ledger_blocks.count_documents({})
    response = client.post(f"/auditor/emergencies/{emergency_id}", data=data)
    assert response.status_code == 400
    assert message in response.data
    assert emergency.get(db, emergency_id)["review_state"] == emergency.PENDING_REVIEW
    assert db.ledger_blocks.count_documents({}) == blocks


def test_an_unknown_emergency_is_404(app, client, case):
    assert client.get("/auditor/emergencies/EMG-999999").status_code == 404
    assert client.post("/auditor/emergencies/EMG-999999",
                       data={"verdict": "justified"}).status_code == 404


def test_an_open_emergency_is_not_reviewed_until_its_window_closes(app, client, case):
    emergency_case = case["emergency"]
    emergency_id, ends = emergency_case["emergency_id"], emergency_case["ends_at"]
    db = get_db(app)
    blocks = db.ledger_blocks.count_documents({})
    queue = client.get("/auditor/emergencies").get_data(as_text=True)
    assert 'data-testid="still-open"' in queue and 'data-testid="review-link"' not in queue
    page = client.get(f"/auditor/emergencies/{emergency_id}").get_data(as_text=True)
    assert 'data-testid="review-not-yet"' in page and 'data-testid="review-card"' not in page
    assert re.search(rf"still open until <time[^>]*>{ends:%Y-%m-%d %H:%M} UTC</time>", page)
    early = client.post(f"/auditor/emergencies/{emergency_id}", data={"verdict": "justified"})
    assert early.status_code == 409
    assert "can be reviewed once its window has closed" in early.get_data(as_text=True)
    assert emergency.get(db, emergency_id)["review_state"] == emergency.PENDING_REVIEW
    assert db.ledger_blocks.count_documents({}) == blocks


def test_reads_made_later_in_the_window_stay_in_the_review(app, client, sealed_world, case,
                                                            monkeypatch):
    emergency_case = case["emergency"]
    emergency_id = emergency_case["emergency_id"]
    assert client.post(f"/auditor/emergencies/{emergency_id}",
                       data={"verdict": "justified"}).status_code == 409
    later = case["records"]["allergy"]
    with app.app_context():
        db = get_db()
        decision = access.decide(db, sealed_world.colleague, later)
        assert decision.emergency
        audit_trail.record_read(db, sealed_world.colleague, later, decision)
    after_window(monkeypatch, emergency_case)
    queue = client.get("/auditor/emergencies").get_data(as_text=True)
    assert f'data-emergency-id="{emergency_id}"' in queue and 'data-testid="review-link"' in queue
    page = client.get(f"/auditor/emergencies/{emergency_id}").get_data(as_text=True)
    assert page.count('data-testid="emergency-read"') == 2 and later["record_id"] in page
    assert 'data-testid="review-card"' in page
    assert client.post(f"/auditor/emergencies/{emergency_id}",
                       data={"verdict": "justified"}).status_code == 302
    assert emergency.get(get_db(app), emergency_id)["review_state"] == emergency.JUSTIFIED

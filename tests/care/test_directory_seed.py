"""`flask seed-demo` gives every demo doctor a sealed directory entry, once; with the demo's
on-call rota someone is on call at any hour."""
from datetime import timedelta

from cli.seed import DEMO_PASSWORD
from models.care import doctor_directory
from models.people import users
from models.storage.db import get_db
from tests.care.conftest import PARIS, utc

ARGS = ["seed-demo", "--patients", "1", "--doctors", "4", "--records", "0"]


def test_demo_doctors_get_a_directory_entry_once(app, runner, client, auth):
    db = get_db(app)
    first = runner.invoke(args=ARGS)
    assert first.exit_code == 0, first.output
    assert "4 directory entries" in first.output
    doctors = list(db.users.find({"role": users.DOCTOR}))
    with app.app_context():
        entries = doctor_directory.current_entries(db, [doctor["human_id"] for doctor in doctors])
    assert len(entries) == 4 and all(entry["sealed_height"] for entry in entries.values())
    assert all(entry["phone"] and entry["email"] and entry["on_call"] for entry in entries.values())
    second = runner.invoke(args=ARGS)
    assert second.exit_code == 0 and "0 directory entries" in second.output
    assert db.directory_entries.count_documents({}) == 4
    moment = utc(2026, 1, 5)  # every hour of a week: someone is on call
    for hour in range(7 * 24):
        at = moment + timedelta(hours=hour, minutes=30)
        assert any(doctor_directory.on_call_at(entry, at, PARIS) for entry in entries.values()), at
    assert auth.login("manager.stmarys", DEMO_PASSWORD).status_code == 302
    page = client.get("/directory/?specialty=general_practice")
    assert page.status_code == 200 and "Amelia Brooks" in page.text

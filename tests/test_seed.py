"""`flask seed-demo`: a realistic demo that can be run twice without creating anything new."""
import pytest
from ledger.attributes import find_mismatches

from cli.seed import DEMO_PASSWORD, demo_licence_pdf, demo_patient
from models.core import clock
from models.people import users
from models.sealing.registry import ATTRIBUTE_SOURCES
from models.storage.db import get_db

ARGS = ["seed-demo", "--patients", "12", "--doctors", "3", "--records", "0"]


def counts(db):
    return {name: db[name].count_documents({})
            for name in ("users", "organizations", "ledger_blocks", "licences.files")}


def test_seed_demo_is_realistic_and_idempotent(app, runner, client, auth):
    db = get_db(app)
    first = runner.invoke(args=ARGS)
    assert first.exit_code == 0, first.output
    after_first = counts(db)
    assert after_first["organizations"] == 5
    kinds = sorted(org["kind"] for org in db.organizations.find())
    assert kinds == ["hospital", "hospital", "lab", "pharmacy", "research"]
    roles = [account["role"] for account in db.users.find()]
    assert roles.count(users.ADMIN) == 1 and roles.count(users.AUDITOR) == 1
    assert roles.count(users.ORG_MANAGER) == 5 and roles.count(users.DOCTOR) == 3
    assert roles.count(users.PHARMACIST) == 1 and roles.count(users.LAB_TECH) == 1
    assert roles.count(users.RESEARCHER) == 1
    assert roles.count(users.PATIENT) == 12
    # one account.verified and one directory.updated block per doctor; a demo study registered
    # and approved; every third patient opted into research
    assert after_first["ledger_blocks"] == 6 + 2 + 4 and after_first["licences.files"] == 3
    study = db.studies.find_one()
    assert study["status"] == "approved" and study["researcher_id"] == db.users.find_one(
        {"role": users.RESEARCHER})["human_id"]
    assert db.research_consents.count_documents({"choice": "all"}) == 4
    assert all(len(doc["profile"]["postcode"]) == 5
               for doc in db.users.find({"role": users.PATIENT}))
    assert "Demo logins:" in first.output and DEMO_PASSWORD in first.output
    assert "shared by all demo accounts" in first.output

    second = runner.invoke(args=ARGS)
    assert second.exit_code == 0, second.output
    assert counts(db) == after_first
    assert "Created 0 organizations, 0 staff accounts and 0 patients; verified 0 doctors" in second.output

    # every demo account signs in with the printed password; doctors are verified and sealed
    doctors = list(db.users.find({"role": users.DOCTOR}))
    for doctor in doctors:
        assert doctor["verification"]["state"] == "verified"
        block = db.ledger_blocks.find_one({"_id": doctor["verification"]["sealed_height"]})
        assert block["kind"] == "account.verified" and block["subject"] == {"account": doctor["human_id"]}
        attributes, salts = ATTRIBUTE_SOURCES["account.verified"](db, block, None)
        assert find_mismatches(attributes, salts, [bytes.fromhex(h) for h in block["attr_leaves"]]) == []
    assert all(doctor["profile"]["specialty"] for doctor in doctors)  # patients search by it
    assert all(doc.get("name_key") for doc in db.users.find())  # and by name
    hospitals = {org["human_id"] for org in db.organizations.find({"kind": "hospital"})}
    assert {doctor["org_id"] for doctor in doctors} == hospitals
    assert auth.login(doctors[0]["username"], DEMO_PASSWORD).status_code == 302
    assert client.get("/doctor/").status_code == 200
    auth.logout()
    assert auth.login("patient00001", DEMO_PASSWORD).status_code == 302
    assert client.get("/patient/").status_code == 200
    auth.logout()
    assert auth.login("manager.stmarys", DEMO_PASSWORD).status_code == 302
    assert b"St. Mary" in client.get("/organization/").data


def test_more_patients_later_only_adds_the_missing_ones(app, runner):
    db = get_db(app)
    assert runner.invoke(args=["seed-demo", "--patients", "5", "--doctors", "1"]).exit_code == 0
    result = runner.invoke(args=["seed-demo", "--patients", "8", "--doctors", "2"])
    assert result.exit_code == 0, result.output
    assert "Created 0 organizations, 1 staff accounts and 3 patients; verified 1 doctors" in result.output
    patients = sorted(account["username"] for account in db.users.find({"role": users.PATIENT}))
    assert patients == [f"patient{i:05d}" for i in range(1, 9)]
    assert len({account["human_id"] for account in db.users.find()}) == db.users.count_documents({})


def test_an_interrupted_doctor_is_finished_on_the_next_run(app, runner):
    db = get_db(app)
    with app.app_context():
        users.create_user(db, username="dr.brooks", role=users.DOCTOR, name="Amelia Brooks",
                          rounds=4, verified=False, created_by="seed-demo")
    result = runner.invoke(args=["seed-demo", "--patients", "0", "--doctors", "1"])
    assert result.exit_code == 0, result.output
    assert db.users.find_one({"username": "dr.brooks"})["verification"]["state"] == "verified"


def test_a_username_held_by_another_role_stops_the_seed_with_a_message(app, runner, make_account):
    make_account(users.PATIENT, username="admin")
    result = runner.invoke(args=["seed-demo", "--patients", "0", "--doctors", "0"])
    assert result.exit_code != 0 and "'admin' is taken by a patient account" in result.output


def test_records_are_seeded_once(app, runner):
    args = ["seed-demo", "--patients", "3", "--doctors", "1", "--records", "4"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0 and "Created 4 demo records" in first.output, first.output
    db = get_db(app)
    latest = db.ledger_checkpoints.find_one({}, sort=[("size", -1)])
    blocks = db.ledger_blocks.count_documents({})
    assert latest is not None and latest["size"] == blocks  # the loaded chain is signed
    second = runner.invoke(args=args)
    assert second.exit_code == 0 and "Created 0 demo records" in second.output, second.output
    assert db.records.count_documents({}) == 4


def test_demo_data_is_valid_and_the_licence_is_a_pdf():
    pdf = demo_licence_pdf({"name": "Zoë (Test)", "human_id": "DOC-000001"})
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[start:start + 4] == b"xref"
    today = clock.now().date()
    assert demo_patient(7, today) == demo_patient(7, today)


@pytest.mark.integration
def test_seed_demo_on_the_embedded_server(app, runner):
    db = get_db(app)
    args = ["seed-demo", "--patients", "1500", "--doctors", "2"]
    assert runner.invoke(args=args).exit_code == 0
    after_first = counts(db)
    assert db.users.count_documents({"role": users.PATIENT}) == 1500
    result = runner.invoke(args=args)
    assert result.exit_code == 0 and counts(db) == after_first

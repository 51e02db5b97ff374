"""The hospital world of the admission tests: the clinical world (tests/records/world.py) plus
the front desks, managers and a second hospital, and helpers that admit, transfer, discharge
and write summaries through the model (fast, no HTTP).

Test modules import the `ward` fixture (and `world`, which it builds on) from here.
"""
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from models.care import admission_summaries, admissions
from models.people import organizations, users
from models.storage.db import get_db
from tests.records.world import World, world  # noqa: F401  (the fixture `ward` builds on)

UTC = ZoneInfo("UTC")
SUMMARY = {"diagnosis": "Quillsprain pneumonia", "course": "Improved on Brambleclav",
           "medication": "Brambleclav 1 g", "follow_up": "Clinic in two weeks"}
COLLECTIONS = ("admissions", "admission_holds", "ledger_blocks", "records", "notifications")


@dataclass
class Ward:
    w: World
    desk: dict        # front desk of hospital A (Saint Anne)
    manager_a: dict   # manager of hospital A
    hospital_c: dict  # another hospital
    desk_c: dict
    doctor_c: dict
    manager_c: dict
    desk_b: dict      # front desk of a clinic (hospital_b is a clinic)

    @property
    def app(self):
        return self.w.app

    def admit(self, patient=None, ward="North", bed="1", reason="Chest pain since morning",
              attending=None, desk=None, at=""):
        with self.app.app_context():
            return admissions.admit(
                get_db(), desk or self.desk, patient_id=(patient or self.w.patient)["human_id"],
                ward=ward, bed=bed, reason=reason,
                attending=(attending or self.w.doctor)["human_id"], at=at, zone=UTC)

    def transfer(self, doc, ward="South", bed="7", desk=None, at=""):
        with self.app.app_context():
            return admissions.transfer(get_db(), desk or self.desk, doc["admission_id"],
                                       ward=ward, bed=bed, at=at, zone=UTC)

    def discharge(self, doc, destination="home", desk=None, at=""):
        with self.app.app_context():
            return admissions.discharge(get_db(), desk or self.desk, doc["admission_id"],
                                        destination=destination, at=at, zone=UTC)

    def mark_in_error(self, doc, reason="Recorded for the wrong patient", desk=None):
        with self.app.app_context():
            return admissions.mark_entered_in_error(get_db(), desk or self.desk,
                                                    doc["admission_id"], reason=reason)

    def summarize(self, doc, doctor=None, raw=None):
        with self.app.app_context():
            return admission_summaries.write_summary(
                get_db(), self.w.key, doctor or self.w.doctor, doc["admission_id"],
                dict(SUMMARY if raw is None else raw), zone=UTC,
                max_bytes=self.app.config["MAX_ATTACHMENT_BYTES"])

    def fresh(self, doc):
        return get_db(self.app).admissions.find_one({"admission_id": doc["admission_id"]})

    def counts(self):
        db = get_db(self.app)
        return {name: db[name].count_documents({}) for name in COLLECTIONS}


@pytest.fixture
def ward(world, make_account):
    with world.app.app_context():
        hospital_c = organizations.create(get_db(), name="Hillside General Hospital",
                                          kind=organizations.HOSPITAL)
    a, b, c = (org["human_id"] for org in (world.hospital_a, world.hospital_b, hospital_c))
    return Ward(
        w=world,
        desk=make_account(users.FRONT_DESK, "desk", name="Dora Desk", org_id=a),
        manager_a=make_account(users.ORG_MANAGER, "managera", name="Mona Manager", org_id=a),
        hospital_c=hospital_c,
        desk_c=make_account(users.FRONT_DESK, "deskc", name="Cid Desk", org_id=c),
        doctor_c=make_account(users.DOCTOR, "doctorc", name="Cora Doctor", org_id=c),
        manager_c=make_account(users.ORG_MANAGER, "managerc", name="Carl Manager", org_id=c),
        desk_b=make_account(users.FRONT_DESK, "deskb", name="Bea Desk", org_id=b),
    )

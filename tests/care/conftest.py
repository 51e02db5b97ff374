"""The care tests' world: the clinical world's hospitals; for the directory, doctors with
specialties, an unverified and a disabled one, and helpers that edit entries through the
model; for appointments, a front desk for each hospital and a manager of the doctor's."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from models.care import doctor_directory
from models.people import users
from models.storage.db import get_db
from tests.auditor_support import sealed_world, verify_through_ledger, world  # noqa: F401

PARIS = ZoneInfo("Europe/Paris")
MONDAY_NIGHT = [("0", "22:00", "06:00")]


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def entry_values(**changes):
    raw = {"department": "Cardiology ward B", "phone": "+33 1 23 45 67 89", "extension": "4412",
           "email": "c.heartley@saint-anne.example", "windows": [("0", "08:00", "16:00")]}
    raw.update(changes)
    return raw


class Doctors:
    """The directory's doctors (hospital A: Saint Anne Hospital, B: Riverside Clinic)."""

    def __init__(self, world, make_account):
        a, b = world.hospital_a["human_id"], world.hospital_b["human_id"]
        self.world = world
        self.app = world.app
        self.heartley = make_account(users.DOCTOR, "heartley", name="Carla Heartley", org_id=a,
                                     profile={"specialty": "cardiology"})
        self.beats = make_account(users.DOCTOR, "beats", name="Bruno Beats", org_id=b,
                                  profile={"specialty": "cardiology"})
        self.nerve = make_account(users.DOCTOR, "nerve", name="Nina Nerve", org_id=a,
                                  profile={"specialty": "neurology"})
        self.unverified = make_account(users.DOCTOR, "newcomer", name="Carl Heartwood", org_id=a,
                                       profile={"specialty": "cardiology"}, verified=False)
        self.disabled = make_account(users.DOCTOR, "gone", name="Cora Heartfelt", org_id=a,
                                     profile={"specialty": "cardiology"})
        self.manager_a = make_account(users.ORG_MANAGER, "manager.a", name="Alma Manager", org_id=a)
        with self.app.app_context():
            users.set_active(get_db(), self.disabled["_id"], False)

    def edit(self, editor, doctor, **changes):
        with self.app.app_context():
            return doctor_directory.update(get_db(), editor=editor, human_id=doctor["human_id"],
                                           raw=entry_values(**changes))

    def search(self, now=None, zone=PARIS, **criteria):
        with self.app.app_context():
            return doctor_directory.search(get_db(), now=now, zone=zone, **criteria)


@pytest.fixture
def doctors(world, make_account):
    return Doctors(world, make_account)


@pytest.fixture
def sealed_doctors(sealed_world, make_account):
    """The directory's doctors, verified through the ledger (the audit is sound)."""
    found = Doctors(sealed_world, make_account)
    for doctor in (found.heartley, found.beats, found.nerve, found.disabled):
        verify_through_ledger(found.app, doctor, sealed_world.admin)
    return found


# Appointments: a front desk for each hospital and a manager of the doctor's hospital ---------

@pytest.fixture
def desk(world, make_account):
    """The front desk of hospital A (the doctor's) and of hospital B (the outsider's)."""
    return (make_account(users.FRONT_DESK, "desk", name="Dee Desk",
                         org_id=world.hospital_a["human_id"]),
            make_account(users.FRONT_DESK, "deskb", name="Bea Desk",
                         org_id=world.hospital_b["human_id"]))


@pytest.fixture
def manager_a(world, make_account):
    return make_account(users.ORG_MANAGER, "managera", name="Ann Manager",
                        org_id=world.hospital_a["human_id"])


from tests.browser.conftest import browser_type_launch_args, live_server  # noqa: E402,F401

"""The care tests' world: the clinical world (tests/records/world.py) plus a front desk for
each hospital, and helpers to publish a schedule and book through the models."""
import pytest

from models.people import users
from tests.auditor_support import sealed_world, world  # noqa: F401  (fixtures re-exported)


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

from tests.records.world import world  # noqa: F401  (the shared clinical fixture)
from tests.support_people import admin, manager, org  # noqa: F401

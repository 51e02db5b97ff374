from tests.records.world import world  # noqa: F401  (the shared clinical fixture)
from tests.support_people import manager, org  # noqa: F401  (a front-desk manager)

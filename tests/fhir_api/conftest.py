from tests.browser.conftest import live_server  # noqa: F401  (a real app process, for fhirclient)
from tests.records.world import world  # noqa: F401  (the shared clinical fixture)

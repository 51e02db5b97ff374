from tests.auditor_support import sealed_world, world  # noqa: F401
from tests.browser.conftest import browser_type_launch_args, live_server  # noqa: F401

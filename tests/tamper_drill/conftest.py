import pytest

from tests.auditor_support import populate, sealed_world, world  # noqa: F401
from tests.browser.conftest import browser_type_launch_args, live_server  # noqa: F401


@pytest.fixture
def rich_world(sealed_world):  # noqa: F811
    """The drills' world plus the demo seed (appointments, directory, research)."""
    populate(sealed_world)
    result = sealed_world.app.test_cli_runner().invoke(args=[
        "seed-demo", "--patients", "3", "--doctors", "2", "--records", "12",
        "--appointments", "6"])
    assert result.exit_code == 0, result.output
    return sealed_world

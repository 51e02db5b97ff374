import pytest

from tests.research.world import build


@pytest.fixture
def world(app, make_account):
    return build(app, make_account)

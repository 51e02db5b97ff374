"""A live app process on 127.0.0.1 and Debian's chromium driven by Playwright."""
import pytest

from tests.browser.a11y_walk import a11y_demo, role_pages  # noqa: F401  (one walk a worker)
from tests.browser.live_server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture
def live_server(tmp_path, embedded_uri):
    server = LiveServer(tmp_path, embedded_uri).start()
    yield server
    server.stop()
    import pymongo
    with pymongo.MongoClient(embedded_uri) as client:
        client.drop_database(server.db_name)

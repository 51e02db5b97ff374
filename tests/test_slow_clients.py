"""Two clients that send their request bodies slowly must not hold up everyone else.

The production set-up (gunicorn.conf.py: threaded workers) gives a slow body one thread, not
a whole worker. Two such clients trickle a login form a byte at a time for ten seconds while a
normal user keeps loading the sign-in page: the normal user's p95 stays under 200 ms.
"""
import socket
import threading
import time

import pytest

from app import create_app
from tests.conftest import make_config
from tests.fault_support import Client, Gunicorn

pytestmark = pytest.mark.integration
TRICKLE_SECONDS = 10
P95_LIMIT_MS = 200


def _trickle(port, stop):
    """A POST whose body never finishes: one byte every quarter second."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 1000\r\n\r\n")
        while not stop.is_set():
            try:
                sock.sendall(b"a")
            except OSError:
                return
            time.sleep(0.25)


def test_two_slow_clients_do_not_slow_a_normal_user(tmp_path, embedded_uri):
    app = create_app(make_config(tmp_path, MONGO_URI=embedded_uri, MONGO_DB="slow_clients"))
    server = Gunicorn(app, tmp_path / "gunicorn.log", workers=2)
    stop = threading.Event()
    slow = [threading.Thread(target=_trickle, args=(server.port, stop)) for _ in range(2)]
    timings = []
    try:
        for client in slow:
            client.start()
        time.sleep(1.0)  # both bodies are now being trickled
        user = Client(server.url)
        deadline = time.monotonic() + TRICKLE_SECONDS - 2
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status, _, _ = user.request("/login", timeout=TRICKLE_SECONDS)
            timings.append((time.perf_counter() - started) * 1000)
            assert status == 200
    finally:
        stop.set()
        for client in slow:
            client.join(30)
        server.stop()
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    assert len(timings) >= 20 and p95 < P95_LIMIT_MS, (len(timings), p95)

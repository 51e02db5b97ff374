"""Runs the embedded SecantusDB server as a separate process (GPL-2.0: never imported).

The server runs under a small guard process (models/storage/embedded_guard.py) that flushes and stops
it when the app exits or dies. The guard is spawned from a long-lived thread (a child started
from a short-lived request thread died with it), retried while a previous server still holds
its files, and stopped by PID when the process exits.
"""
import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pymongo

from models.storage.embedded_guard import sigterm_when_parent_dies

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 30.0
GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "embedded_guard.py")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exit_on_sigterm():
    """Turn SIGTERM into a normal exit so that atexit stops the server (main thread only)."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def server_binary():
    beside_python = os.path.join(os.path.dirname(sys.executable), "secantusd-py")
    found = beside_python if os.path.exists(beside_python) else shutil.which("secantusd-py")
    if not found:
        raise RuntimeError("secantusd-py not found: pip install -r requirements.txt")
    return found


class EmbeddedServer:
    """One local server on 127.0.0.1 with its data under `storage_path`."""

    def __init__(self, storage_path, port=None):
        self.storage_path = os.path.abspath(storage_path)
        self.port = port or free_port()
        self.process = None
        self._started = threading.Event()
        self._error = None
        self._thread = None

    @property
    def uri(self):
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self):
        os.makedirs(self.storage_path, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="secantusdb", daemon=True)
        self._thread.start()
        self._started.wait(STARTUP_TIMEOUT + 5)
        if self._error or self.process is None:
            raise RuntimeError(f"embedded database did not start: {self._error}")
        atexit.register(self.stop)
        _exit_on_sigterm()
        return self

    def _spawn(self):
        log_path = os.path.join(os.path.dirname(self.storage_path), "secantusdb.log")
        with open(log_path, "ab") as log_file:
            return subprocess.Popen(
                [sys.executable, GUARD, str(self.port),
                 server_binary(), "--host", "127.0.0.1", "--port", str(self.port),
                 "--storage-path", self.storage_path, "--log-level", "WARNING"],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=sigterm_when_parent_dies if sys.platform == "linux" else None)

    def _run(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while True:
                process = self._spawn()
                if self._wait_ready(process, deadline):
                    self.process = process
                    break
                # Exited early: usually a previous server still holds the files. Retry.
                if time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError("timed out waiting for secantusd-py")
                time.sleep(0.5)
        except Exception as exc:  # reported to the starting thread
            self._error = exc
        finally:
            self._started.set()
        if self.process is not None:
            self.process.wait()

    def _wait_ready(self, process, deadline):
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=300) as probe:
                    probe.admin.command("ping")
                return True
            except pymongo.errors.PyMongoError:
                time.sleep(0.2)
        return False

    def stop(self):
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # to the guard: fsync, SIGTERM, SIGKILL at 10 s
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()  # the server gets SIGTERM as the guard dies
            process.wait(5)

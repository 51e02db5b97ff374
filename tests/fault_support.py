"""Processes a fault drill can kill: a SecantusDB server on a fixed port and folder (so it can
be killed with SIGKILL and started again on the same data), the app under gunicorn with the
project's own gunicorn.conf.py, and a small HTTP client with a cookie jar that never raises on
a refused connection (a drill counts failures, it does not stop on them)."""
import http.client
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pymongo

from models.storage.embedded import free_port, server_binary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DatabaseProcess:
    """secantusd-py on 127.0.0.1:<port> with its data in `path`; killed and restarted by PID."""

    def __init__(self, path, port=None):
        self.path, self.port = str(path), port or free_port()
        self.process = None
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"
        self.log = open(os.path.join(os.path.dirname(self.path), f"db-{self.port}.log"), "ab")

    def start(self, timeout=60):
        """Start (retrying while a killed predecessor still holds the files) and wait for it."""
        deadline = time.monotonic() + timeout
        while True:
            self.process = subprocess.Popen(
                [server_binary(), "--host", "127.0.0.1", "--port", str(self.port),
                 "--storage-path", self.path, "--log-level", "WARNING"],
                stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
            while self.process.poll() is None and time.monotonic() < deadline:
                if self.ping():
                    return self
                time.sleep(0.2)
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError("the database server did not start")
            time.sleep(0.5)  # exited at once: the files are still held; try again

    def ping(self):
        try:
            with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=300) as probe:
                probe.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False

    def kill(self):
        """SIGKILL: no flush, no clean close (what a power cut or the OOM killer does)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Client:
    """One person's browser: cookies, redirects not followed, every failure a status."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, path, data=None, timeout=30):
        """(status, location, body): status 0 when the connection failed."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=timeout) as response:
                return response.status, response.headers.get("Location"), \
                    response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location"), exc.read().decode("utf-8", "replace")
        except (OSError, urllib.error.URLError, http.client.HTTPException):
            # a worker killed mid-response leaves a short read (IncompleteRead), not an OSError
            return 0, None, ""

    def login(self, username, password, attempts=50):
        for _ in range(attempts):
            status, _, _ = self.request("/login", {"username": username, "password": password})
            if status == 302:
                return True
            time.sleep(0.2)
        return False


def flashed(body, pattern):
    """The first match of `pattern` in the page's flash messages, or None."""
    match = re.search(pattern, body)
    return match.group(1) if match else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Gunicorn:
    """The app under gunicorn with gunicorn.conf.py (threaded workers), configured like `app`
    (its database and key files), stopped by PID."""

    def __init__(self, app, log_path, workers=2, **config):
        self.port = free_port()
        settings = {key: app.config[key] for key in ("MONGO_URI", "MONGO_DB", "DATA_KEY_FILE",
                                                       "LEDGER_KEY_FILE")}
        settings.update(ENV_NAME="testing", INSTANCE_PATH=app.instance_path, **config)
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", os.path.join(ROOT, "gunicorn.conf.py"),
             "tests.tamper_drill.drill_app:create()"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, DRILL_CONFIG=json.dumps(settings), WEB_CONCURRENCY=str(workers),
                     BIND=f"127.0.0.1:{self.port}"))
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while Client(self.url).request("/login")[0] != 200:
            assert self.process.poll() is None and time.monotonic() < deadline, \
                "gunicorn did not start"
            time.sleep(0.3)

    def workers(self):
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
            return [int(pid) for pid in children.read().split()]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

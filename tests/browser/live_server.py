"""A live app process on 127.0.0.1 (tests/browser/serve.py) on its own database."""
import itertools
import os
import pathlib
import subprocess
import sys
import time
import urllib.request

from app import create_app
from models.storage.embedded import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
_databases = itertools.count()
START_SECONDS = 60
"""Seconds an app process may take to answer (a loaded 2-core machine has needed over 30)."""


class LiveServer:
    def __init__(self, tmp_path, mongo_uri):
        self.instance = tmp_path / "instance"
        self.instance.mkdir(exist_ok=True)
        self.port = free_port()
        self.db_name = f"browser{next(_databases)}_{int(time.time())}"
        self.mongo_uri = mongo_uri
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        self.log = open(self.instance / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "browser" / "serve.py"), "--port", str(self.port),
             "--instance", str(self.instance), "--mongo-uri", self.mongo_uri, "--db", self.db_name],
            cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                raise RuntimeError((self.instance / "server.log").read_text()[-3000:])
            try:
                urllib.request.urlopen(self.url + "/login", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()  # nothing left running or open to trouble the next test
        raise RuntimeError(f"live server did not start in {START_SECONDS} s: "
                           + (self.instance / "server.log").read_text()[-2000:])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def app(self):
        """An app object on the same database and keys, for setting up accounts directly."""
        return create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(self.instance),
                           "MONGO_URI": self.mongo_uri, "MONGO_DB": self.db_name})

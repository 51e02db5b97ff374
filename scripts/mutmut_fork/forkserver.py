"""Run pytest for mutmut 2 without paying interpreter start-up and imports per mutant.

The server imports pytest and the heavy test dependencies once, then forks a child per
request; the child imports the (mutated) project code fresh and runs pytest.main(args).
Usage: forkserver.py SOCKET WORKDIR   (the client sends one JSON list of arg lists)
"""
import json
import os
import resource
import signal
import socket
import sys

os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.dont_write_bytecode = True  # a stale .pyc of the previous mutant must never be read
# Libraries only: the project's own modules must be imported by each child, mutated.
import bcrypt  # noqa: E402,F401
import Crypto.Signature.eddsa  # noqa: E402,F401
import flask  # noqa: E402,F401
import flask_login  # noqa: E402,F401
import flask_wtf  # noqa: E402,F401
import hypothesis  # noqa: E402,F401
import jinja2  # noqa: E402,F401
import mongomock  # noqa: E402,F401
import pymongo  # noqa: E402,F401
import pytest  # noqa: E402
from cryptography.hazmat.primitives.ciphers import aead  # noqa: E402,F401

CHILD_TIMEOUT = 900
CPU_SECONDS = int(os.environ.get("MUTATION_CPU_SECONDS", "60"))
"""A stage's CPU budget, well above any group's unmutated run: an endless loop dies here."""


def run(stages, workdir):
    """0 if every stage passes, else the first failing return code (stages stop there)."""
    for args in stages:
        pid = os.fork()
        if pid == 0:
            signal.alarm(CHILD_TIMEOUT)
            resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
            os.chdir(workdir)
            sys.path.insert(0, workdir)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os._exit(int(pytest.main(args)))
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code:
            return code if code > 0 else 99
    return 0


def main(path, workdir):
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    while True:
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as lines:
            code = run(json.loads(lines.readline()), workdir)
            conn.sendall(f"{code}\n".encode())


if __name__ == "__main__":
    main(sys.argv[1], os.path.abspath(sys.argv[2]))

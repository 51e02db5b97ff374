"""Keeps the embedded SecantusDB server from outliving the app, without losing its writes.

    python models/storage/embedded_guard.py <port> <secantusd-py command...>

The app starts this guard, and the guard starts the server. When the app asks (SIGTERM) or
dies, even by SIGKILL (the guard polls its parent), the guard:
1. asks the server to `fsync` over the wire, so every acknowledged write is on disk;
2. sends it SIGTERM, for a clean close;
3. sends SIGKILL if it is still there after STOP_SECONDS.

Why not signal the server directly: it does not sync its journal on each commit, so a killed
server loses recent acknowledged writes (a test found a document gone), and its SIGTERM
handler can deadlock when the signal lands while its main thread holds the lock of the event it
waits on (a server was once found stuck for good, holding the data files). The fsync first
makes step 3 safe. Run as a script, not imported by the app: it needs only pymongo.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

import pymongo

STOP_SECONDS = 10.0
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1


def sigterm_when_parent_dies():
    """For preexec_fn (Linux): the child gets SIGTERM when the thread that started it dies,
    even by SIGKILL. The app uses it for this guard, this guard for the server."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def flush(port):
    try:
        with pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true",
                                 serverSelectionTimeoutMS=2000, socketTimeoutMS=5000) as client:
            client.admin.command("fsync")
    except pymongo.errors.PyMongoError:
        pass  # not up yet, or already gone: nothing acknowledged is waiting


def stop(server, port):
    if server.poll() is not None:
        return
    flush(port)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def main(argv):
    port, command = int(argv[0]), argv[1:]
    parent = os.getppid()
    asked = []
    signal.signal(signal.SIGTERM, lambda signum, frame: asked.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: asked.append(signum))
    server = subprocess.Popen(
        command, stdin=subprocess.DEVNULL,
        preexec_fn=sigterm_when_parent_dies if sys.platform == "linux" else None)
    while server.poll() is None:
        if asked or os.getppid() != parent:
            stop(server, port)
            break
        time.sleep(POLL_SECONDS)
    return server.returncode if server.returncode is not None else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Page latency under gunicorn (2 workers) on the embedded database, with seeded volume.

One command:  python bench/page_bench.py [--patients 10000] [--records 100000] [--requests 300]

Starts its own SecantusDB server and gunicorn on 127.0.0.1 (both stopped by PID), seeds with
`flask seed-demo`, gives one doctor a grant to one patient's history, then times the doctor's
patient page, the patient dashboard and a consented record view with a few concurrent
clients. All traffic stays on loopback and every loop is bounded. Target: p95 <= 100 ms.
"""
import argparse
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from models.embedded import EmbeddedServer, free_port  # noqa: E402

BIN = os.path.dirname(sys.executable)
DEMO_PASSWORD = "medledger-demo-password"


def run(cmd, env):
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def prepare(env, patient_id):
    """One doctor gets a grant to the patient's history; returns (doctor, patient, record)."""
    os.environ.update(env)
    from app import create_app
    from models import consent, users
    from models.db import get_db
    app = create_app()
    with app.app_context():
        db = get_db()
        patient = users.by_human_id(db, patient_id, role=users.PATIENT)
        record = db.records.find_one({"patient_id": patient_id})
        doctor = db.users.find_one({"role": users.DOCTOR, "human_id": {"$ne": record["author_id"]}}) \
            if "author_id" in record else db.users.find_one({"role": users.DOCTOR})
        consent.grant_proactively(db, patient=patient, grantee=doctor["human_id"], scope_kind="all",
                                  purpose="treatment", duration_days=30, one_time=False)
        return doctor["username"], patient["username"], record["record_id"], record["version"]


class Client:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.read()

    def login(self, username):
        _, page = self.get("/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        data = urllib.parse.urlencode({"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=30) as response:
            assert "/login" not in response.url, f"login failed for {username}"


def measure(base, username, path, total, concurrency):
    """p50/p95/p99 over `total` GETs from `concurrency` signed-in clients."""
    timings, errors = [], []
    per_client = total // concurrency

    def worker():
        client = Client(base)
        client.login(username)
        client.get(path)  # warm-up, not counted
        for _ in range(per_client):
            started = time.perf_counter()
            status, _ = client.get(path)
            timings.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    timings.sort()
    pick = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))] * 1000  # noqa: E731
    return {"n": len(timings), "p50": statistics.median(timings) * 1000, "p95": pick(0.95),
            "p99": pick(0.99), "rps": len(timings) / elapsed, "errors": len(errors)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=2,
                        help="concurrent clients (default: one per gunicorn worker)")
    parser.add_argument("--quick", action="store_true", help="1,000 patients, 10,000 records")
    args = parser.parse_args()
    if args.quick:
        args.patients, args.records = 1000, 10000

    workdir = tempfile.mkdtemp(prefix="page-bench-")
    server = EmbeddedServer(os.path.join(workdir, "db")).start()
    gunicorn = None
    try:
        env = dict(os.environ, MONGO_URI=server.uri, MONGO_DB="bench", SECRET_KEY="page-bench",
                   DATA_KEY_FILE=os.path.join(workdir, "data.key"),
                   LEDGER_KEY_FILE=os.path.join(workdir, "ledger.key"),
                   RATELIMIT_STORAGE_URI="memory://", LOGIN_RATE_LIMIT="100000 per minute",
                   FLASK_APP="app")
        seed_s = run([os.path.join(BIN, "flask"), "seed-demo", "--patients", str(args.patients),
                      "--records", str(args.records)], env)
        doctor, patient, record_id, version = prepare(env, "PAT-000001")
        port = free_port()
        log = open(os.path.join(workdir, "gunicorn.log"), "wb")
        gunicorn = subprocess.Popen([os.path.join(BIN, "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                                     "--log-level", "warning", "app:create_app()"], env=env, cwd=ROOT,
                                    stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/login", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or gunicorn.poll() is not None:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.3)
        pages = [
            ("doctor's patient page", doctor, "/doctor/patients/PAT-000001"),
            ("patient dashboard", patient, "/patient/"),
            ("consented record view", doctor, f"/doctor/records/{record_id}/v{version}"),
        ]
        load = os.getloadavg()[0]
        print(f"\n{args.patients:,} patients, {args.records:,} records; seed {seed_s:.0f} s; "
              f"gunicorn 2 workers on the embedded DB; {args.requests} requests per page from "
              f"{args.clients} clients; load average {load:.1f} on {os.cpu_count()} cores\n")
        print("| page | requests | p50 ms | p95 ms | p99 ms | req/s | errors | p95 ≤ 100 ms |")
        print("|---|---|---|---|---|---|---|---|")
        for label, username, path in pages:
            row = measure(base, username, path, args.requests, args.clients)
            print(f"| {label} | {row['n']} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} "
                  f"| {row['rps']:.0f} | {row['errors']} | {'yes' if row['p95'] <= 100 else 'NO'} |")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(15)
        server.stop()


if __name__ == "__main__":
    main()

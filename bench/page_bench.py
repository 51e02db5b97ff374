"""Page benchmark: the three busiest clinical pages under gunicorn (2 workers) on the embedded DB.

    python bench/page_bench.py [--patients 10000] [--records 100000] [--requests 300]
                               [--clients 1,2,4] [--pages patient,dashboard,record] [--quick]
                               [--restart-db] [--mongo-options retryWrites=false]
                               [--keep] [--workdir DIR]

Steps, all on 127.0.0.1 and all stopped by PID at the end (even on failure):
1. start a SecantusDB server (`secantusd-py`) on a free port with its files in a temp folder;
2. seed it with `flask seed-demo --patients N --records M` (timed; progress bars on a terminal);
3. start the app under `gunicorn -w 2` with the same MONGO_URI and key files as the seed;
4. over HTTP with CSRF, the way a browser does it: demo doctor `dr.brooks` asks demo patient
   `patient00001` for all record types, and the patient approves, so the doctor holds an
   active grant to a patient with records written by several doctors;
5. measure, with a bounded Python client (threads + http.client, keep-alive where the server
   allows it; every response must be 200 and contain its page's marker, or it counts as an
   error): the doctor's page of that patient, the patient's dashboard, and a record the doctor
   reads under the grant (another doctor wrote it, so each view is a real `record.read`:
   access decision, audit entry, ledger block, decryption).

For each page and each client count: p50 / p95 / p99 / max latency, throughput, errors, and
whether p95 meets the target of issue 4 (100 ms). `--quick` is a smoke run (1,000 patients,
10,000 records, 100 requests). The machine's 1-minute load average is printed with the table,
since other work on a shared machine slows every figure down.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, ROOT)

from cli.seed import DEMO_PASSWORD, doctor_identity, patient_username  # noqa: E402

TARGET_P95_MS = 100.0
PAGE_KEYS = ("patient", "dashboard", "record")
WORKERS = 2
WARMUP = 10
PHASE_SECONDS = 180  # a phase stops issuing requests after this long, whatever --requests says
USER_AGENT = "medledger-page-bench"
GRANTED_RECORD_RE = re.compile(  # a record on the doctor's patient page open under a grant
    r'href="(/doctor/records/PAT-\d+-R\d+/v\d+)" data-testid="open-record">'
    r'Open</a>\s*<span class="small text-muted">allowed: grant')
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


# Processes -------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tool(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: activate the project's virtualenv "
                         "(pip install -r requirements.txt)")
    return path


def stop(process, name):
    """SIGTERM to the process we started (by PID), then SIGKILL if it does not go."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        print(f"{name} (pid {process.pid}) did not stop: killing it", file=sys.stderr)
        process.kill()
        process.wait(5)


def tear_down(workdir, keep, *running):
    """Stop what a benchmark started ((process, name) pairs, by PID), then remove its
    directory unless asked to keep it."""
    for process, name in running:
        stop(process, name)
    if keep:
        print(f"Kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def wait_until(check, what, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout} s")


def start_database(workdir):
    port = free_port()
    log = open(os.path.join(workdir, "secantusdb.log"), "wb")
    process = subprocess.Popen(
        [tool("secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
         "--storage-path", os.path.join(workdir, "db"), "--log-level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"

    def ready():
        import pymongo
        try:
            with pymongo.MongoClient(uri, serverSelectionTimeoutMS=300) as probe:
                probe.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
    try:
        wait_until(ready, "secantusd-py", process)
    except Exception:
        stop(process, "secantusd-py")
        raise
    return process, uri


def with_options(mongo_uri, options):
    return mongo_uri + "&" + options.lstrip("&?") if options else mongo_uri


def app_environment(workdir, mongo_uri):
    """What both the seed and gunicorn read (config.py reads these names at import)."""
    return {**os.environ, "MEDLEDGER_ENV": "development", "MONGO_URI": mongo_uri,
            "MONGO_DB": "medledger_bench", "SECRET_KEY": "page-bench-secret-not-for-production",
            "DATA_KEY_FILE": os.path.join(workdir, "keys", "data.key"),
            "LEDGER_KEY_FILE": os.path.join(workdir, "keys", "ledger.key"),
            "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT": "10000 per minute",
            "PYTHONPATH": ROOT, "PYTHONUNBUFFERED": "1"}


def seed(env, patients, record_count):
    command = [tool("flask"), "--app", "app", "seed-demo", "--patients", str(patients),
               "--records", str(record_count)]
    print("$ " + " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def start_gunicorn(workdir, env):
    port = free_port()
    log = open(os.path.join(workdir, "gunicorn.log"), "wb")
    process = subprocess.Popen(
        [tool("gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "120",
         "app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)

    def ready():
        try:
            return Client(port).get("/login")[0] == 200
        except OSError:
            return False
    try:
        wait_until(ready, "gunicorn", process, timeout=90)
    except Exception:
        stop(process, "gunicorn")
        raise
    return process, port


# HTTP --------------------------------------------------------------------------------------------

class Client:
    """One browser-like user on one connection: keeps the session cookie, never follows
    redirects on its own (the caller says what it expects)."""

    def __init__(self, port, cookie=None):
        self.port = port
        self.cookie = cookie
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method, path, body=None):
        headers = {"User-Agent": USER_AGENT, "Host": f"127.0.0.1:{self.port}"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.connection.close()  # gunicorn's sync workers close after each response
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, text, response.getheader("Location")

    def get(self, path):
        return self.request("GET", path)

    def post_form(self, page_path, action_path, fields):
        """GET the page that holds the form (for its CSRF token), then POST the form."""
        status, text, _ = self.get(page_path)
        match = CSRF_RE.search(text)
        if status != 200 or not match:
            raise RuntimeError(f"no form with a CSRF token at {page_path} (status {status})")
        return self.request("POST", action_path, dict(fields, csrf_token=match.group(1)))


def login(port, username):
    client = Client(port)
    status, _, location = client.post_form("/login", "/login",
                                           {"username": username, "password": DEMO_PASSWORD})
    if status != 302 or "/login" in (location or ""):
        raise RuntimeError(f"{username} could not sign in (status {status}, to {location})")
    return client


def grant_doctor_access(port, doctor_name, patient_name):
    """The consent flow over HTTP: the doctor asks for all types, the patient approves.
    Returns (patient id, id of a record the doctor reads only under the grant)."""
    patient = login(port, patient_name)
    status, text, _ = patient.get("/patient/")
    patient_id = re.search(r'data-testid="whoami">\s*[^<]*?(PAT-\d{6})', text).group(1)
    doctor = login(port, doctor_name)
    page = f"/doctor/patients/{patient_id}"
    started = time.perf_counter()
    status, _, _ = doctor.post_form(f"{page}/request-access", f"{page}/request-access", {
        "scope": "all", "purpose": "treatment", "duration_days": "30",
        "message": "Benchmark: follow-up"})
    if status != 302:
        raise RuntimeError(f"the access request failed (status {status})")
    requested = time.perf_counter()
    status, text, _ = patient.get("/patient/")
    request_id = re.search(r'data-testid="pending-request" data-request-id="(REQ-\d+)"',
                           text).group(1)
    approving = time.perf_counter()
    status, _, _ = patient.post_form("/patient/", f"/patient/requests/{request_id}/approve",
                                     {"duration_days": "30"})
    if status != 302:
        raise RuntimeError(f"the approval failed (status {status})")
    # The first sealing request of each worker also signs the periodic checkpoint if one is
    # due, which after a bulk seed covers the whole chain: these two show that cost.
    print(f"First sealed requests: access request {1000 * (requested - started):.0f} ms, "
          f"approval {1000 * (time.perf_counter() - approving):.0f} ms (form page included).",
          flush=True)
    status, text, _ = doctor.get(page)
    granted = GRANTED_RECORD_RE.findall(text)
    if not granted:
        raise RuntimeError(f"{patient_id} has no record that {doctor_name} reads under a grant; "
                           "seed more records")
    return patient_id, granted[0], text.count('data-testid="record-row"')


# CPU accounting ----------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid):
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(part) for part in handle.read().split()]
    except OSError:
        return []


def tree_cpu(pid):
    """A process and its direct children (gunicorn's workers; a launcher's server)."""
    return sum(process_cpu(each) for each in [pid] + children(pid))


def machine_busy():
    """(busy, stolen) CPU seconds of the whole machine (all cores), from /proc/stat. Stolen
    time is when the hypervisor ran another machine on our virtual CPUs."""
    with open("/proc/stat") as handle:
        values = [int(part) for part in handle.readline().split()[1:]]
    return (sum(values[:7]) - values[3] - values[4]) / TICK, values[7] / TICK


class CpuMeter:
    """Where the CPU of a phase went: gunicorn (master + workers), the database server, this
    load client, and everything else on the machine (other users' work shows up there)."""

    def __init__(self, app_pid, db_pid):
        self.app_pid, self.db_pid = app_pid, db_pid

    def snapshot(self):
        usage = os.times()
        busy, stolen = machine_busy()
        return {"app": tree_cpu(self.app_pid), "db": tree_cpu(self.db_pid),
                "client": usage.user + usage.system, "machine": busy, "steal": stolen}

    @staticmethod
    def per_request(before, after, count):
        spent = {name: after[name] - before[name] for name in before}
        spent["other"] = max(0.0, spent.pop("machine") - spent["app"] - spent["db"]
                             - spent["client"])
        return {name: 1000 * value / max(count, 1) for name, value in spent.items()}


# Load --------------------------------------------------------------------------------------------

def run_threads(worker, clients):
    """Run `worker` in `clients` threads at once; the wall-clock seconds until all are done."""
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_phase(port, cookie, path, marker, total, clients):
    """`total` GETs of `path` from `clients` threads (each its own connection and cookie)."""
    latencies, errors = [], []
    lock = threading.Lock()
    issued = iter(range(total))
    deadline = time.monotonic() + PHASE_SECONDS

    def worker():
        client = Client(port, cookie)
        while time.monotonic() < deadline:
            with lock:
                if next(issued, None) is None:
                    return
            started = time.perf_counter()
            try:
                status, text, _ = client.get(path)
                ok = status == 200 and marker in text
                problem = None if ok else f"status {status}"
            except OSError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(elapsed)

    return latencies, errors, run_threads(worker, clients)


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def measure(port, pages, requests, client_counts, meter):
    rows = []
    for name, client, path, marker in pages:
        run_phase(port, client.cookie, path, marker, WARMUP, 1)
        for clients in client_counts:
            before = meter.snapshot()
            latencies, errors, wall = run_phase(port, client.cookie, path, marker, requests,
                                                clients)
            cpu = meter.per_request(before, meter.snapshot(), len(latencies) + len(errors))
            ms = sorted(value * 1000 for value in latencies)
            rows.append({"page": name, "clients": clients, "n": len(ms), "errors": errors,
                         "p50": statistics.median(ms) if ms else float("nan"),
                         "p95": percentile(ms, 0.95), "p99": percentile(ms, 0.99),
                         "max": ms[-1] if ms else float("nan"),
                         "rps": len(ms) / wall if wall else 0.0, "load": os.getloadavg()[0],
                         "cpu": cpu})
            print(f"  measured {name} with {clients} client(s): {len(ms)} ok, "
                  f"{len(errors)} errors", flush=True)
    return rows


def print_table(rows):
    header = (f"{'page':<30} {'clients':>7} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7} {'req/s':>6} {'errors':>6}  {'p95<=100':<8} "
              f"{'CPU ms/request: app   db  client other steal':>46} {'load':>5}")
    print("\n" + header)
    print("-" * len(header))
    for row in rows:
        verdict = "yes" if row["p95"] <= TARGET_P95_MS and not row["errors"] else "NO"
        cpu = row["cpu"]
        print(f"{row['page']:<30} {row['clients']:>7} {row['n']:>5} {row['p50']:>7.1f} "
              f"{row['p95']:>7.1f} {row['p99']:>7.1f} {row['max']:>7.1f} {row['rps']:>6.1f} "
              f"{len(row['errors']):>6}  {verdict:<8} {'':>16}{cpu['app']:>5.1f} {cpu['db']:>5.1f} "
              f"{cpu['client']:>6.1f} {cpu['other']:>5.1f} {cpu['steal']:>5.1f} "
              f"{row['load']:>5.2f}")
        for problem in sorted(set(row["errors"]))[:3]:
            print(f"    error: {problem}")
    print(f"\nTarget (issue 4): p95 <= {TARGET_P95_MS:.0f} ms per page, under gunicorn with "
          f"{WORKERS} workers on the embedded database. Machine: {os.cpu_count()} cores.")
    print("CPU ms/request: CPU time per request of gunicorn (master + workers), the database "
          "server, this load client, everything else on the machine during the phase, and "
          "the time the hypervisor gave our virtual CPUs to other machines (steal). "
          "When their sum times req/s reaches the core count, the machine is saturated and "
          "more clients only queue.")


# Main ------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page "
                        "and client count (after %d warm-up requests)" % WARMUP)
    parser.add_argument("--clients", default="1,2,4",
                        help="comma-separated concurrent client counts (default 1,2,4; "
                        "2 is one per worker)")
    parser.add_argument("--pages", default="patient,dashboard,record",
                        help="comma-separated pages to measure (default: all three)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1,000 patients, 10,000 records, 100 requests")
    parser.add_argument("--mongo-options", default="retryWrites=false",
                        help="MONGO_URI options for the seed and the app (default "
                        "retryWrites=false, as the README says for a secantusd-py shared by "
                        "several workers; '' measures pymongo's default retryable writes)")
    parser.add_argument("--restart-db", action="store_true",
                        help="restart the database server between the seed and the measurements")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp folder (database, logs, keys) for a look afterwards")
    parser.add_argument("--workdir", help="use this folder and keep it; if it already holds a "
                        "seeded database (from an earlier --keep or --workdir run with the same "
                        "sizes), skip the seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.patients, args.records, args.requests = 1_000, 10_000, 100
    args.client_counts = [int(part) for part in args.clients.split(",") if part.strip()]
    args.pages = [part.strip() for part in args.pages.split(",") if part.strip()]
    if not args.pages or set(args.pages) - set(PAGE_KEYS):
        parser.error(f"--pages takes some of {', '.join(PAGE_KEYS)}")
    if args.patients < 1 or args.records < 1 or args.requests < 1 or \
            not args.client_counts or min(args.client_counts) < 1:
        parser.error("patients, records, requests and clients must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
        args.keep = True
    else:
        workdir = tempfile.mkdtemp(prefix="page-bench-")
    database = server = None
    seeded_marker = os.path.join(workdir, f"seeded-{args.patients}-{args.records}")
    print(f"Page benchmark: {args.patients:,} patients, {args.records:,} records, "
          f"{args.requests} requests per page and client count; work folder {workdir}")
    try:
        database, mongo_uri = start_database(workdir)
        if args.mongo_options:
            print(f"MONGO_URI options: {args.mongo_options}")
        env = app_environment(workdir, with_options(mongo_uri, args.mongo_options))
        if os.path.exists(seeded_marker):
            with open(seeded_marker) as handle:
                seed_seconds = float(handle.read())
            print(f"Reusing the database seeded earlier in {workdir} "
                  f"(its seed took {seed_seconds:.0f} s).", flush=True)
        else:
            seed_seconds = seed(env, args.patients, args.records)
            with open(seeded_marker, "w") as handle:
                handle.write(f"{seed_seconds:.1f}")
            print(f"Seeded in {seed_seconds:.0f} s ({args.records / seed_seconds:,.0f} "
                  "records/s including patients and staff).", flush=True)
        if args.restart_db:
            stop(database, "secantusd-py")
            database, mongo_uri = start_database(workdir)
            env = app_environment(workdir, with_options(mongo_uri, args.mongo_options))
            print("Restarted the database server after the seed.", flush=True)
        server, port = start_gunicorn(workdir, env)
        doctor_name, patient_name = doctor_identity(0)[0], patient_username(0)
        patient_id, record_path, visible = grant_doctor_access(port, doctor_name, patient_name)
        print(f"{doctor_name} holds a grant to {patient_id} ({visible} records shown on the "
              f"doctor's page); consented record: {record_path}", flush=True)
        doctor, patient = login(port, doctor_name), login(port, patient_name)
        pages = {
            "patient": ("doctor: patient page", doctor, f"/doctor/patients/{patient_id}",
                        'data-testid="patient-heading"'),
            "dashboard": ("patient: dashboard", patient, "/patient/",
                          'data-testid="dashboard-patient"'),
            "record": ("doctor: consented record view", doctor, record_path,
                       'data-testid="record-card"'),
        }
        pages = [pages[key] for key in args.pages]
        rows = measure(port, pages, args.requests, args.client_counts,
                       CpuMeter(server.pid, database.pid))
        print(f"\nSeed: flask seed-demo --patients {args.patients} --records {args.records} "
              f"took {seed_seconds:.0f} s.")
        print_table(rows)
        return 0 if all(row["p95"] <= TARGET_P95_MS and not row["errors"] for row in rows) else 1
    finally:
        tear_down(workdir, args.keep, (server, "gunicorn"), (database, "secantusd-py"))


if __name__ == "__main__":
    sys.exit(main())

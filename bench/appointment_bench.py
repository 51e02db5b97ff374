"""Appointment benchmark (issue 12): the doctor's week view, the patient's appointment list and
booking a slot, under gunicorn (2 workers) on the embedded DB.

    python bench/appointment_bench.py [--doctors 200] [--patients 10000]
                                      [--appointments 100000] [--requests 300]
                                      [--clients 1,2] [--quick] [--keep] [--workdir DIR]

Steps (all on 127.0.0.1, every process stopped by PID at the end, as bench/page_bench.py):
1. a SecantusDB server on a free port, seeded with `flask seed-demo --doctors D --patients P
   --records 0 --appointments N` (each doctor a weekday schedule, appointments half a year back
   and half a year ahead, their time held);
2. gunicorn -w 2 on the same database and keys;
3. with a bounded client, over HTTP with CSRF like a browser: the first demo doctor's week
   view (this week), a demo patient's appointment list, and booking: each request POSTs a
   different free slot (read beforehand from the booking pages of several doctors) and must
   be answered 302 (booked).
For each page and client count: p50 / p95 / p99 / max, throughput and errors; the target of
issue 12 is p95 <= 100 ms. `--quick` is a smoke run (20 doctors, 1,000 patients, 5,000
appointments, 100 requests).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import page_bench  # noqa: E402  (the shared processes, HTTP client and table)
from page_bench import (ROOT, Client, CpuMeter, app_environment, login, percentile,  # noqa: E402
                        start_database, start_gunicorn, tool, with_options)

from cli.seed import doctor_identity, patient_username  # noqa: E402

SLOT_RE = re.compile(r'name="start" id="[^"]+" value="([^"]+)"')
DOCTOR_RE = re.compile(r"(DOC-\d{6})")


def seed(env, doctors, patients, appointments):
    command = [tool("flask"), "--app", "app", "seed-demo", "--doctors", str(doctors),
               "--patients", str(patients), "--records", "0", "--appointments",
               str(appointments)]
    print("$ " + " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def doctor_ids(patient, count):
    """Human ids of demo doctors, from the patient's doctor search (by specialty words)."""
    found = []
    for index in range(count):
        name = doctor_identity(index)[1].split()[-1]
        _, text, _ = patient.get(f"/appointments/find?q={name}")
        found += DOCTOR_RE.findall(text)
    return list(dict.fromkeys(found))  # each id is on a result twice (text and link)


def free_slots(patient, doctors, wanted):
    """(doctor, slot value) pairs offered on the booking pages, enough for `wanted` bookings."""
    slots = []
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    for week in range(26):
        for doctor in doctors:
            _, text, _ = patient.get(f"/appointments/book/{doctor}?week="
                                     f"{(monday + timedelta(weeks=week)).isoformat()}")
            slots += [(doctor, value) for value in SLOT_RE.findall(text)]
            if len(slots) >= wanted:
                return slots
    return slots


def book_phase(port, cookie, slots, clients):
    """Each slot booked once, by `clients` threads sharing the patient's session."""
    latencies, errors = [], []
    lock = threading.Lock()
    queue = iter(slots)

    def worker():
        client = Client(port, cookie)
        _, text, _ = client.get(f"/appointments/book/{slots[0][0]}")
        token = page_bench.CSRF_RE.search(text).group(1)
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            doctor, value = item
            started = time.perf_counter()
            try:
                status, _, _ = client.request("POST", f"/appointments/book/{doctor}", {
                    "csrf_token": token, "start": value, "reason": "Benchmark booking"})
                problem = None if status == 302 else f"status {status}"
            except OSError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                (errors.append(problem) if problem else latencies.append(elapsed))

    return latencies, errors, page_bench.run_threads(worker, clients)


def row(name, clients, latencies, errors, wall, cpu):
    ms = sorted(value * 1000 for value in latencies)
    return {"page": name, "clients": clients, "n": len(ms), "errors": errors,
            "p50": statistics.median(ms) if ms else float("nan"), "p95": percentile(ms, 0.95),
            "p99": percentile(ms, 0.99), "max": ms[-1] if ms else float("nan"),
            "rps": len(ms) / wall if wall else 0.0, "load": os.getloadavg()[0], "cpu": cpu}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doctors", type=int, default=200)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", default="1,2")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mongo-options", default="retryWrites=false")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    if args.quick:
        args.doctors, args.patients, args.appointments, args.requests = 20, 1_000, 5_000, 100
    args.client_counts = [int(part) for part in args.clients.split(",") if part.strip()]
    return args


def main(argv=None):
    args = parse_args(argv)
    workdir = os.path.abspath(args.workdir) if args.workdir else tempfile.mkdtemp(
        prefix="appointment-bench-")
    os.makedirs(workdir, exist_ok=True)
    keep = args.keep or bool(args.workdir)
    marker = os.path.join(workdir, f"seeded-{args.doctors}-{args.patients}-{args.appointments}")
    database = server = None
    try:
        database, mongo_uri = start_database(workdir)
        env = app_environment(workdir, with_options(mongo_uri, args.mongo_options))
        if os.path.exists(marker):
            seed_seconds = float(open(marker).read())
        else:
            seed_seconds = seed(env, args.doctors, args.patients, args.appointments)
            with open(marker, "w") as handle:
                handle.write(f"{seed_seconds:.1f}")
        print(f"Seeded in {seed_seconds:.0f} s.", flush=True)
        server, port = start_gunicorn(workdir, env)
        doctor, patient = login(port, doctor_identity(0)[0]), login(port, patient_username(0))
        meter = CpuMeter(server.pid, database.pid)
        rows = []
        pages = [("doctor: week view", doctor,
                  f"/appointments/week?date={date.today().isoformat()}", 'data-testid="week"'),
                 ("patient: appointment list", patient, "/appointments/mine",
                  'data-testid="upcoming-table"')]
        for name, client, path, marker_text in pages:
            page_bench.run_phase(port, client.cookie, path, marker_text, page_bench.WARMUP, 1)
            for clients in args.client_counts:
                before = meter.snapshot()
                latencies, errors, wall = page_bench.run_phase(port, client.cookie, path,
                                                               marker_text, args.requests,
                                                               clients)
                rows.append(row(name, clients, latencies, errors, wall, meter.per_request(
                    before, meter.snapshot(), len(latencies) + len(errors))))
        booker = login(port, patient_username(1))
        doctors = doctor_ids(booker, min(args.doctors, 10))
        slots = free_slots(booker, doctors, args.requests * len(args.client_counts))
        for index, clients in enumerate(args.client_counts):
            chunk = slots[index * args.requests:(index + 1) * args.requests]
            before = meter.snapshot()
            latencies, errors, wall = book_phase(port, booker.cookie, chunk, clients)
            rows.append(row("patient: book a slot", clients, latencies, errors, wall,
                            meter.per_request(before, meter.snapshot(),
                                              len(latencies) + len(errors))))
        page_bench.print_table(rows)
        return 0 if all(r["p95"] <= page_bench.TARGET_P95_MS and not r["errors"]
                        for r in rows) else 1
    finally:
        page_bench.tear_down(workdir, keep, (server, "gunicorn"), (database, "secantusd-py"))


if __name__ == "__main__":
    sys.exit(main())

"""Profile one page in-process against a database kept by the page benchmark.

    python bench/page_bench.py --workdir /tmp/pages        # seeds once, keeps the folder
    python bench/profile_page.py --workdir /tmp/pages [--page record|patient|dashboard]
                                 [--requests 200] [--top 30]

Starts a SecantusDB server on the kept database files (127.0.0.1, free port, stopped by PID),
builds the app with the same keys and settings gunicorn used, signs in through the login form
(CSRF included) and GETs the page `--requests` times under cProfile with Flask's test client.
Prints in-process p50/p95 (no HTTP server, no load client: the application and database cost
alone) and the functions that take the most time, so a slow page names its slow step.
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from page_bench import (  # noqa: E402
    CSRF_RE,
    GRANTED_RECORD_RE,
    app_environment,
    process_cpu,
    start_database,
    stop,
)


def sign_in(client, username, password):
    page = client.get("/login")
    token = CSRF_RE.search(page.text).group(1)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"{username} could not sign in")


def find_page(client, which, patient_id):
    """The URL of the page to profile, found the way a user would reach it."""
    if which == "dashboard":
        return "/patient/", 'data-testid="dashboard-patient"'
    if which == "patient":
        return f"/doctor/patients/{patient_id}", 'data-testid="patient-heading"'
    text = client.get(f"/doctor/patients/{patient_id}").text
    granted = GRANTED_RECORD_RE.findall(text)
    if not granted:
        raise SystemExit(f"the doctor holds no grant to {patient_id}: run page_bench.py on this "
                         "folder first")
    return granted[0], 'data-testid="record-card"'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True, help="a folder kept by page_bench.py")
    parser.add_argument("--page", choices=("record", "patient", "dashboard"), default="record")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    args = parser.parse_args(argv)
    workdir = os.path.abspath(args.workdir)
    if not os.path.isdir(os.path.join(workdir, "db")):
        raise SystemExit(f"{workdir} holds no database: run page_bench.py --workdir {workdir}")

    database, uri = start_database(workdir)
    try:
        os.environ.update(app_environment(workdir, uri))
        from app import create_app
        from cli.seed import DEMO_PASSWORD, doctor_identity, patient_username
        from models.people import users
        from models.storage.db import get_db
        app = create_app()
        with app.app_context():
            patient_id = users.by_username(get_db(), patient_username(0))["human_id"]
        client = app.test_client()
        sign_in(client, patient_username(0) if args.page == "dashboard" else doctor_identity(0)[0],
                DEMO_PASSWORD)
        path, marker = find_page(client, args.page, patient_id)
        for _ in range(10):
            client.get(path)
        timings, profiler = [], cProfile.Profile()
        db_cpu = process_cpu(database.pid)
        for _ in range(args.requests):
            started = time.perf_counter()
            profiler.enable()
            response = client.get(path)
            profiler.disable()
            timings.append(1000 * (time.perf_counter() - started))
            if response.status_code != 200 or marker not in response.text:
                raise SystemExit(f"{path} answered {response.status_code} without its marker")
        db_cpu = 1000 * (process_cpu(database.pid) - db_cpu) / args.requests
        timings.sort()
        print(f"{path}: {args.requests} requests in-process, p50 {statistics.median(timings):.1f} "
              f"ms, p95 {timings[int(0.95 * len(timings)) - 1]:.1f} ms (profiler overhead "
              f"included); database server CPU {db_cpu:.1f} ms per request")
        pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    finally:
        stop(database, "secantusd-py")


if __name__ == "__main__":
    sys.exit(main())

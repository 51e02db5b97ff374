"""Why the app writes to SecantusDB without retryable writes: one insert's cost, both ways.

    python bench/retryable_writes_bench.py [--fill 10500] [--inserts 300]

Starts a fresh `secantusd-py` (127.0.0.1, free port, temp folder, stopped by PID), times
`--inserts` single inserts with pymongo's default retryable writes and with
`retryWrites=false` while the server's registry of retryable-write replies is nearly empty,
then fills that registry with `--fill` retryable inserts (it keeps up to 10,000 for 30
minutes) and times both again. Prints wall time and the server's CPU per insert.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import pymongo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_bench import process_cpu, start_database, stop  # noqa: E402


def timed_inserts(uri, options, server_pid, count):
    with pymongo.MongoClient(uri + options) as client:
        collection = client.bench.inserts
        cpu, started = process_cpu(server_pid), time.perf_counter()
        for number in range(count):
            collection.insert_one({"n": number})
        wall = (time.perf_counter() - started) / count
    return 1000 * wall, 1000 * (process_cpu(server_pid) - cpu) / count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", type=int, default=10_500)
    parser.add_argument("--inserts", type=int, default=300)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="retryable-bench-")
    server = None
    try:
        server, uri = start_database(workdir)
        rows = []
        for phase in ("registry nearly empty", f"registry filled ({args.fill:,} writes)"):
            if phase.startswith("registry filled"):
                with pymongo.MongoClient(uri) as client:
                    for number in range(args.fill):
                        client.bench.fill.insert_one({"n": number})
            for label, options in (("retryable (pymongo default)", ""),
                                   ("retryWrites=false", "&retryWrites=false")):
                rows.append((phase, label) + timed_inserts(uri, options, server.pid, args.inserts))
        print(f"\n{'registry':<32} {'writes':<28} {'wall ms':>8} {'server CPU ms':>14}")
        for phase, label, wall, cpu in rows:
            print(f"{phase:<32} {label:<28} {wall:>8.2f} {cpu:>14.2f}")
        full_retry, full_plain = rows[2][3], rows[3][3]
        print(f"\nWith the registry full, a retryable insert costs the server "
              f"{full_retry / max(full_plain, 1e-9):.1f}x the CPU of a plain one.")
        return 0
    finally:
        stop(server, "secantusd-py")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

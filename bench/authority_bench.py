"""What authenticated authority costs: the HMACs on documents and blocks (issue 10).

Prints the cost of one code at append (`block_mac`) and at audit (`block_authentic`), of
stamping and verifying a grant, an account and a record envelope, and the full audit of N
in-memory blocks with and without the block check (the library's own audit, best of 3).

    python bench/authority_bench.py [--blocks 100000]
"""
import argparse
import os
import sys
import tempfile
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ledger.attributes import new_salt  # noqa: E402
from ledger.audit import audit  # noqa: E402
from ledger.chain import Ledger  # noqa: E402
from ledger.store import MemoryStore  # noqa: E402

from app import create_app  # noqa: E402
from models.core import clock  # noqa: E402
from models.storage import authority  # noqa: E402


def per_call_us(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def documents():
    now = clock.now_ms()
    grant = {"grant_id": "GRT-000001", "patient_id": "PAT-000001", "grantee_kind": "doctor",
             "grantee_id": "DOC-000001", "grantee_org": "ORG-0001", "scope": {"kind": "all"},
             "purpose": "treatment", "valid_from": now, "valid_until": now, "one_time": False,
             "state": "approved", "request_id": None, "granted_by": "PAT-000001",
             "used_record": None}
    user = {"username": "dr.x", "human_id": "DOC-000001", "role": "doctor", "org_id": "ORG-0001",
            "password_hash": "$2b$12$" + "x" * 53, "must_set_password": False, "active": True,
            "locked_until": None, "failed_logins": 0, "verification": {"state": "verified"},
            "actor": "act-0123456789abcdef"}
    record = {"record_id": "PAT-000001-R1", "version": 1, "patient_id": "PAT-000001",
              "type": "note", "author_id": "DOC-000001", "author_role": "doctor",
              "org_id": "ORG-0001", "status": "final", "rx_status": None,
              "sensitivity": "normal", "supersedes": None, "superseded_by": None}
    return {"grants": grant, "users": user, "records": record}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=100_000)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="authority-bench-")
    app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": workdir})
    print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    with app.app_context():
        digest = "ab" * 32
        block = {"hash": digest, "mac": authority.block_mac(digest)}
        print(f"block code at append (block_mac):       {per_call_us(lambda: authority.block_mac(digest), 20000):6.2f} us")
        print(f"block code at audit (block_authentic):  {per_call_us(lambda: authority.block_authentic(block), 20000):6.2f} us")
        for collection, doc in documents().items():
            stamped = authority.stamp(collection, dict(doc))
            stamp = per_call_us(lambda: authority.stamp(collection, dict(doc)), 5000)
            check = per_call_us(lambda: authority.verify(collection, stamped), 5000)
            print(f"{collection:8} stamp {stamp:6.1f} us, verify (one HMAC) {check:6.1f} us")

        store = MemoryStore()
        ledger = Ledger(store, authenticator=authority.block_mac)
        salts = {"n": new_salt()}
        for n in range(args.blocks):
            ledger.append("bench.event", {"bench": n}, "act-bench", {"n": n}, salts)
        timings = {}
        for label, check in (("without block check", None),
                             ("with block check", authority.keyring(app).block_authentic)):
            best = None
            for _ in range(3):
                started = time.perf_counter()
                report = audit(store, block_check=check)
                elapsed = time.perf_counter() - started
                assert report.ok, report.problems[:3]
                best = elapsed if best is None else min(best, elapsed)
            timings[label] = best
            print(f"audit of {args.blocks:,} blocks in memory {label}: {best:.2f} s "
                  f"({args.blocks / best:,.0f} blocks/s)")
    plain, checked = timings.values()
    print(f"the block check adds {(checked - plain) / args.blocks * 1e6:.1f} us per block "
          f"({checked / plain:.2f}x); 10^6 blocks: +{(checked - plain) * 1e6 / args.blocks:.1f} s")


if __name__ == "__main__":
    main()

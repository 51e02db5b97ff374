"""One step of the in-memory audit, for counting its instructions under valgrind.

    valgrind --tool=cachegrind --cache-sim=no python bench/audit_instructions.py STEP N

STEP is `none` (build the chain only), `audit`, `floor` (the 11 SHA-256 calls per block of
ledger_bench.sha256_floor) or `naive` (ledger_bench.naive_audit). (I refs of STEP - I refs of
`none`) / N is the step's instructions per block: a figure that other work on a shared
machine cannot change, unlike wall or CPU time (issue 16's single-core figures).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ledger_bench as lb  # noqa: E402
from ledger.audit import audit  # noqa: E402
from ledger.chain import Ledger  # noqa: E402
from ledger.store import MemoryStore  # noqa: E402


def main():
    step, n = sys.argv[1], int(sys.argv[2])
    store = MemoryStore()
    lb.bulk_build(store, n, pool=lb.leaf_pool())
    Ledger(store).checkpoint(lb.KEY, lb.ORIGIN)
    docs = list(store.iter_blocks())
    if step == "audit":
        assert audit(store, verifiers=[lb.KEY.public()]).ok
    elif step == "floor":
        lb.best_of = lambda repeat, fn: fn() or 0.0  # one run, no timing
        lb.sha256_floor(blocks=n, repeat=1)
    elif step == "naive":
        lb.naive_audit(docs)
    elif step != "none":
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main()

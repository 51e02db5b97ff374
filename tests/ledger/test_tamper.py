"""Randomized tampering by an insider with full write access to the database.

Each trial builds a fresh chain (30-60 events of 1-10 attributes), with the app's attribute
data beside it and checkpoints that the auditor also kept outside the database; then performs
one attack and audits. Every attack must be reported with the right kind at the right height
(and attribute), with no other problem anywhere else. Untouched chains must report nothing.
Each attacked chain is audited twice: with the held checkpoints, and without any (what the
database alone shows). Without them the attacks in HELD_ONLY are invisible by design: they
erase every trace the database kept (spec: the held checkpoint is what catches a truncated or
rewritten chain), so there the audit must report nothing rather than a false location.

The seed is fixed (DEFAULT_SEED) so a run is reproducible; LEDGER_TAMPER_SEED=<n> picks one,
LEDGER_TAMPER_SEED=random draws a new one and prints it. LEDGER_TAMPER_TRIALS sets the number of
trials (default 650, 50 per attack; the `slow` test runs 10,000, in CI's second step).
"""
import copy
import os
import random
import time
from collections import Counter, defaultdict

import pytest

from ledger.attributes import new_salt, sorted_names
from ledger.audit import AttributeSourceError, audit
from ledger.block import block_hash, header_of
from ledger.chain import HINT_EVERY, Ledger
from ledger.notes import SigningKey
from ledger.store import MemoryStore, MongoStore

ORIGIN = "medledger.test/log"
KEY = SigningKey.from_seed("medledger-tamper", bytes(range(7, 39)))
KINDS = ("record.created", "record.amended", "access.requested", "access.approved",
         "access.revoked", "record.read", "emergency.access", "account.verified")
NAMES = ("blood_group", "diagnosis", "dose_mg", "note", "sex", "weight_kg", "allergy", "ward",
         "code", "flag", "dob", "result", "unit")
DEFAULT_SEED = 18
DEFAULT_TRIALS = 650
VALUES = ("A+", "0-", "72.5", "Müller", "", "x" * 40, 7, -123456, True, False, None,
          ["a", 1], {"k": "v"})


class Clock:
    def __init__(self):
        from datetime import datetime, timedelta, timezone
        self.now, self.step = datetime(2026, 1, 1, tzinfo=timezone.utc), timedelta(seconds=1)

    def __call__(self):
        self.now += self.step
        return self.now


class App:
    """The app side: decrypted attributes per (record, version), the auditor's held notes."""

    def __init__(self, store, rng, n, checkpoint_every):
        self.store, self.rng = store, rng
        self.ledger = Ledger(store, clock=Clock())
        self.data = {}
        self.held = []
        for i in range(n):
            self.append(i)
            if (i + 1) % checkpoint_every == 0 or i == n - 1:
                self.held.append(self.ledger.checkpoint(KEY, ORIGIN))

    def append(self, i, ledger=None):
        rng = self.rng
        names = rng.sample(NAMES, rng.randint(1, 10))
        attributes = {name: copy.deepcopy(rng.choice(VALUES)) for name in names}
        salts = {name: new_salt() for name in names}
        subject = {"record": f"PAT-{i:06d}-R{rng.randint(1, 4)}", "version": rng.randint(1, 3)}
        (ledger or self.ledger).append(rng.choice(KINDS), subject, f"act-{rng.randint(1, 9)}",
                                       attributes, salts)
        self.data[(subject["record"], subject["version"])] = (attributes, salts)

    def source(self, doc):
        subject = doc.get("subject")
        key = (subject.get("record"), subject.get("version")) if isinstance(subject, dict) else None
        if key not in self.data:
            raise AttributeSourceError("missing-document", f"no record for subject {subject!r}")
        return self.data[key]


class MemoryAttacker:
    def __init__(self, store):
        self.store = store

    def block(self, h):
        return copy.deepcopy(self.store.get_block(h))

    def write(self, docs):
        for doc in docs:
            self.store.raw_put(doc)

    def delete(self, h):
        self.store.raw_delete(h)

    def drop_checkpoints(self, above):
        cps = self.store.raw_checkpoints()
        for key in [k for k, d in cps.items() if d["size"] > above]:
            del cps[key]
        self.store.raw_meta()["latest_checkpoint"] = min(
            self.store.raw_meta().get("latest_checkpoint", -1), above)

    def set_tip_hint(self, h):
        self.store.raw_meta()["tip"] = h


class MongoAttacker(MemoryAttacker):
    def block(self, h):
        return self.store.blocks.find_one({"_id": h})

    def write(self, docs):
        ids = [d["_id"] for d in docs]
        self.store.blocks.delete_many({"_id": {"$in": ids}})
        self.store.blocks.delete_many({"height": {"$in": [d["height"] for d in docs]}})
        self.store.blocks.insert_many(docs)

    def delete(self, h):
        self.store.blocks.delete_one({"_id": h})

    def drop_checkpoints(self, above):
        self.store.checkpoints.delete_many({"size": {"$gt": above}})
        self.store.meta.update_one({"_id": "checkpoints"}, {"$min": {"latest_size": above}})

    def set_tip_hint(self, h):
        self.store.meta.update_one({"_id": "tip"}, {"$set": {"height": h}}, upsert=True)


def _rehash_from(attacker, start, n, prev_hash):
    """Relink and rehash heights start..n-1 as an insider covering their tracks would."""
    docs = []
    for h in range(start, n):
        doc = attacker.block(h)
        doc["prev_hash"] = prev_hash
        doc["hash"] = block_hash(header_of(doc)).hex()
        prev_hash = doc["hash"]
        docs.append(doc)
    if docs:
        attacker.write(docs)


def _prev_of(attacker, h):
    return "0" * 64 if h == 0 else attacker.block(h - 1)["hash"]


def _expect(kind, height, attribute=None, allowed=(), bracket=None):
    """What the audit must report: one (kind, height[, attribute]) and nothing outside
    `allowed` heights; an inconsistent-with-checkpoint must bracket `bracket` if given."""
    return {"kind": kind, "height": height, "attribute": attribute,
            "allowed": set(allowed) | ({height} if height is not None else set()),
            "bracket": bracket}


# Attacks: each takes (app, attacker, n, rng) and returns the expectation. -------------------

def attack_none(app, attacker, n, rng):
    return None


def attack_edit_value(app, attacker, n, rng):
    h = rng.randrange(n)
    attributes, _ = app.source(attacker.block(h))
    name = rng.choice(sorted(attributes))
    attributes[name] = f"tampered-{rng.random()}"
    return _expect("attribute-mismatch", h, name)


def attack_replace_salt(app, attacker, n, rng):
    h = rng.randrange(n)
    attributes, salts = app.source(attacker.block(h))
    name = rng.choice(sorted(attributes))
    salts[name] = new_salt()
    return _expect("attribute-mismatch", h, name)


def attack_edit_header(app, attacker, n, rng):
    h = rng.randrange(n)
    doc = attacker.block(h)
    field = rng.choice(["kind", "subject", "actor", "timestamp", "attr_count", "prev_hash"])
    doc[field] = {
        "kind": rng.choice([k for k in KINDS if k != doc["kind"]]),
        "subject": {**doc["subject"], "version": doc["subject"]["version"] + 10},
        "actor": doc["actor"] + "-x",
        "timestamp": "2019-12-31T23:59:59.999Z",
        "attr_count": doc["attr_count"] + rng.choice([-1, 1]),
        "prev_hash": "%064x" % rng.getrandbits(256),
    }[field]
    attacker.write([doc])
    return _expect("bad-block-hash", h)


def attack_edit_leaf(app, attacker, n, rng):
    h = rng.randrange(n)
    doc = attacker.block(h)
    attributes, _ = app.source(doc)
    i = rng.randrange(len(doc["attr_leaves"]))
    doc["attr_leaves"][i] = "%064x" % rng.getrandbits(256)
    attacker.write([doc])
    return _expect("bad-attr-root", h, sorted_names(attributes)[i])


def attack_delete(app, attacker, n, rng):
    h = rng.randrange(n - 1)
    attacker.delete(h)
    return _expect("missing-block", h)


def attack_insert(app, attacker, n, rng):
    """A forged event at position p; later blocks shifted up, relinked and rehashed."""
    p = rng.randint(0, n)
    shifted = [attacker.block(h) for h in range(p, n)]
    forged = copy.deepcopy(attacker.block(max(p - 1, 0)))
    forged["subject"] = {"record": "PAT-999999-R9", "version": 1}
    docs = [forged] + shifted
    for offset, doc in enumerate(docs):
        doc["_id"] = doc["height"] = p + offset
    prev = _prev_of(attacker, p)
    for doc in docs:
        doc["prev_hash"] = prev
        doc["hash"] = block_hash(header_of(doc)).hex()
        prev = doc["hash"]
    attacker.write(docs)
    attacker.set_tip_hint(n)
    return _expect("missing-document", p, bracket=p)


def attack_swap(app, attacker, n, rng):
    i, j = sorted(rng.sample(range(n), 2))
    a, b = attacker.block(i), attacker.block(j)
    a["_id"] = a["height"] = j
    b["_id"] = b["height"] = i
    attacker.write([a, b])
    expectation = _expect("bad-block-hash", i, allowed={i + 1, j, j + 1}, bracket=i)
    expectation["also"] = ("bad-block-hash", j)
    return expectation


def attack_truncate(app, attacker, n, rng):
    keep = rng.randint(n - n // 3, n - 1)
    for h in range(keep, n):
        attacker.delete(h)
    attacker.drop_checkpoints(keep)  # covering tracks: only the held notes remain
    attacker.set_tip_hint(keep - 1)
    return _expect("truncated", keep)


def attack_truncate_keep_tip(app, attacker, n, rng):
    """The tail deleted and the stored checkpoints above it dropped, but the stored tip height
    left in place: without held checkpoints the tip height is the only evidence. The ledger
    records it every HINT_EVERY heights, so the cut starts at or below the height recorded."""
    hint = app.store.tip_hint()
    keep = rng.randint(max(0, hint - 10), hint)
    for h in range(keep, n):
        attacker.delete(h)
    attacker.drop_checkpoints(keep)
    return _expect("truncated", keep)


def attack_rollback(app, attacker, n, rng):
    """Restore an earlier snapshot of the chain, then write new history after it."""
    m = rng.randint(1, n - 2)
    for h in range(m, n):
        attacker.delete(h)
    attacker.drop_checkpoints(m)
    attacker.set_tip_hint(m - 1)
    forger = Ledger(app.store, clock=Clock())
    for i in range(m, n + rng.randint(0, 3)):  # same events again, re-dated: a fork
        app.append(i, ledger=forger)
    return _expect("inconsistent-with-checkpoint", None, bracket=m)


def attack_rollback_truncate(app, attacker, n, rng):
    m = rng.randint(1, n - 1)
    for h in range(m, n):
        attacker.delete(h)
    attacker.drop_checkpoints(m)
    attacker.set_tip_hint(m - 1)
    return _expect("truncated", m)


def attack_rewrite(app, attacker, n, rng):
    """Back-date one event and recompute every hash from there on."""
    k = rng.randrange(n)
    doc = attacker.block(k)
    doc["timestamp"] = "2019-06-01T00:00:00.000Z"
    doc["actor"] = "act-insider"
    attacker.write([doc])
    _rehash_from(attacker, k, n, _prev_of(attacker, k))
    attacker.drop_checkpoints(k)
    return _expect("inconsistent-with-checkpoint", None, bracket=k)


ATTACKS = {name[len("attack_"):]: fn for name, fn in globals().items()
           if name.startswith("attack_")}
HELD_ONLY = {"truncate", "rollback", "rollback_truncate", "rewrite"}
"""Attacks that lower or rewrite the stored tip and checkpoints too: only held ones show them."""


def _judge(report, expectation):
    """None if the report is exactly right, else why not."""
    problems = report.problems
    if expectation is None:
        return None if report.ok else f"false alarm: {report.lines()}"
    bracket = expectation["bracket"]

    def in_bracket(p):
        return (p.kind == "inconsistent-with-checkpoint" and bracket is not None
                and p.height <= bracket <= p.height_end)

    wanted = [(expectation["kind"], expectation["height"], expectation["attribute"])]
    if "also" in expectation:
        wanted.append((*expectation["also"], None))
    for kind, height, attribute in wanted:
        if height is None:
            found = any(in_bracket(p) for p in problems if p.kind == kind)
        else:
            found = any(p.kind == kind and p.height == height
                        and (attribute is None or p.attribute == attribute) for p in problems)
        if not found:
            return f"expected {kind} at {height} ({attribute}), got {report.lines()}"
    for p in problems:
        if not (p.height in expectation["allowed"] or in_bracket(p)):
            return f"unexpected {p.line()}"
    return None


def run_trials(trials, seed, store_factory, attacker_cls, sizes=(30, 60), every=(7, 13)):
    """Matrix rows per attack, with and without held checkpoints ("<attack> (no held)")."""
    rng = random.Random(seed)
    matrix = defaultdict(Counter)
    failures = []
    names = sorted(ATTACKS)
    for trial in range(trials):
        name = names[trial % len(names)]
        trial_rng = random.Random(rng.getrandbits(64))
        n = trial_rng.randint(*sizes)
        store = store_factory()
        app = App(store, trial_rng, n, trial_rng.randint(*every))
        expectation = ATTACKS[name](app, attacker_cls(store), n, trial_rng)
        blind = None if name in HELD_ONLY else expectation
        for row, held, wanted in ((name, app.held, expectation), (f"{name} (no held)", [], blind)):
            report = audit(store, verifiers=[KEY.public()], attribute_source=app.source,
                           held_checkpoints=held)
            why = _judge(report, wanted)
            matrix[row]["total"] += 1
            if why is None:
                matrix[row]["detected"] += 1
                for kind in {p.kind for p in report.problems}:
                    matrix[row][kind] += 1
            else:
                failures.append(f"trial {trial} ({row}, n={n}): {why}")
    return matrix, failures


def print_matrix(title, seed, matrix, elapsed):
    print(f"\n{title} (seed {seed}, {sum(m['total'] for m in matrix.values())} trials, "
          f"{elapsed:.1f} s)")
    print(f"{'attack':<28} {'detected':>12}  kinds reported (trials)")
    for name in sorted(matrix):
        row = matrix[name]
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(row.items())
                          if k not in ("total", "detected")) or "(none: clean)"
        clean = name.split()[0] == "none" or (name.endswith("(no held)")
                                                and name.split()[0] in HELD_ONLY)
        label = f"{row['detected']}/{row['total']}" + (" clean" if clean else "")
        print(f"{name:<28} {label:>12}  {kinds}")


def _seed(offset=0):
    """DEFAULT_SEED (+ offset), LEDGER_TAMPER_SEED=<n> (+ offset), or a fresh one for =random."""
    chosen = os.environ.get("LEDGER_TAMPER_SEED", "").strip()
    if chosen == "random":
        return random.SystemRandom().getrandbits(32)
    return int(chosen or DEFAULT_SEED) + offset


def _suite(trials, seed):
    print(f"\ntamper suite seed: {seed} (rerun with LEDGER_TAMPER_SEED={seed})")
    started = time.perf_counter()
    matrix, failures = run_trials(trials, seed, MemoryStore, MemoryAttacker)
    print_matrix("MemoryStore", seed, matrix, time.perf_counter() - started)
    assert not failures, f"seed {seed}: {len(failures)} failures:\n" + "\n".join(failures[:15])
    assert all(row["detected"] == row["total"] for row in matrix.values())
    assert set(matrix) == set(ATTACKS) | {f"{name} (no held)" for name in ATTACKS}


def test_every_attack_is_detected_with_kind_and_location():
    _suite(int(os.environ.get("LEDGER_TAMPER_TRIALS", DEFAULT_TRIALS)), _seed())


@pytest.mark.slow
@pytest.mark.parametrize("half", [0, 1])
def test_ten_thousand_trials(request, half):
    """Two halves of 5,000 trials (seeds seed+1 and seed+2), so two workers share the run."""
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("run with -m slow (or LEDGER_TAMPER_TRIALS=10000 for the default test)")
    _suite(5000, _seed(1 + half))


def test_a_truncation_below_the_stored_tip_is_reported_without_held_checkpoints():
    """Blocks 10-19 of a 20-block chain deleted with the stored checkpoints, the stored tip
    height left in place (16: it is written every HINT_EVERY heights), nothing held outside:
    the tip height alone shows the truncation."""
    store = MemoryStore()
    app = App(store, random.Random(DEFAULT_SEED), 20, checkpoint_every=5)
    attacker = MemoryAttacker(store)
    for h in range(10, 20):
        attacker.delete(h)
    attacker.drop_checkpoints(10)
    assert store.tip_hint() == HINT_EVERY == 16 and store.latest_checkpoint_size() == 10
    report = audit(store, verifiers=[KEY.public()], attribute_source=app.source,
                   held_checkpoints=[])
    assert [(p.kind, p.height, p.height_end) for p in report.problems] == [("truncated", 10, 16)]


def test_mongo_store_shows_the_same_detections():
    import mongomock
    seed = _seed()
    print(f"\ntamper suite seed: {seed} (rerun with LEDGER_TAMPER_SEED={seed})")
    client = mongomock.MongoClient()
    counter = iter(range(10**6))

    def factory():
        store = MongoStore(client[f"tamper{next(counter)}"])
        store.ensure_indexes()
        return store

    started = time.perf_counter()
    matrix, failures = run_trials(len(ATTACKS) * 3, seed, factory, MongoAttacker,
                                  sizes=(12, 20), every=(4, 6))
    print_matrix("MongoStore on mongomock", seed, matrix, time.perf_counter() - started)
    client.close()
    assert not failures, f"seed {seed}:\n" + "\n".join(failures[:15])

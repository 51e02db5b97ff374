"""The registry of event kinds: for each kind of block, where its document lives and how the
audit rebuilds what the block sealed. Everything that needs the list of kinds derives it from
here: the block explorer's filter, the audit's document checks, reconcile, the height indexes.

Domain packages declare their kinds as `EventKind`s (with `EVENTS` and `COVERAGE` tuples in
their modules) and `models.startup.install` registers them, once per process, at
start-up: this package never imports a domain.

- rebuild: `fn(db, block, data_key[, prefetched]) -> (attributes, salts) | None` rebuilds the
  event's attributes and salts from the current database state. The auditor recomputes the
  leaf hashes from it, so an edit made directly in MongoDB shows up as an
  `attribute-mismatch` naming the attribute.
- coverage: `fn(db) -> iterable of (collection, doc_id, sealed_height | None)` names every
  document that must be covered by a block (`unsealed-document` otherwise).
- a kind that `creates_document` must find its document (`missing-document` otherwise).
- subject, salts_at, actor, sealed, rollback: how a change is sealed, and how reconcile
  finishes (or, when incomplete, undoes) a change that a crash left without its block.

Batching: one lookup per block costs a round trip each, so each kind with a collection and an
indexed sealing height (`sealed_at`) gets a prefetch companion,
`prefetch(db, lo, hi) -> {height: document}`, which reads every document whose sealing height
for that event lies in [lo, hi) with one range query. The auditor calls it once per window of
heights and hands the result to the rebuild as `prefetched`. A prefetched document is only a
shortcut: the rebuild takes it (`take`) when it is beyond doubt the document its own lookup
would return (the same unique key, sealed at this block's height), and otherwise looks the
document up as before. Batching changes how many queries an audit makes, never what it finds.
"""
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from bson import Decimal128

DECLARED = {}  # kind -> EventKind
ATTRIBUTE_SOURCES = {}  # kind -> rebuild, derived from DECLARED
PREFETCH = {}  # kind -> fn(db, lo, hi) -> {height: document}, derived from DECLARED
COVERAGE = []  # fn(db) -> iterable of (collection, doc_id, sealed_height | None)
"""Plain functions, or DocumentCoverage (the same call, and a per-document form)."""
PENDING = "pending_seals"
"""[{kind, at}]: the events whose block a document's change still waits for, written in the
same update as the change (with the event's salts) and pulled when the block's height is
recorded. Reconcile looks for them; authority still pending is not in force."""
IN_CHUNK = 50
"""Ids per `$in` query: the embedded server answers short lists by index, long ones far slower."""


@dataclass(frozen=True)
class EventKind:
    """One kind of block: where its document lives, how the audit rebuilds what it sealed, and
    how reconcile finishes (or undoes) a change that a crash left without its block."""
    kind: str
    collection: str | None = None
    sealed_at: str | None = None
    """The document's indexed field (a dotted path) holding the height of this kind's block."""
    rebuild: Callable | None = None
    creates_document: bool = False
    """The block's event created its document: the block must find it."""
    projection: dict | None = None
    """Fields the prefetch companion reads (default: the whole document)."""
    prefetch: Callable | None = None
    """A custom prefetch companion; by default one range on `sealed_at`."""
    subject: Callable | None = None
    """fn(doc) -> the block's subject."""
    salts_at: str | None = None
    """Where the document keeps this event's salts (written with the change, before the block)."""
    also_at: tuple = ()
    """More fields (dotted paths) that record the block's height."""
    actor: Callable | None = None
    """fn(db, doc) -> the account document whose pseudonym the block names."""
    sealed: Callable | None = None
    """fn(db, data_key, doc) -> (attributes, salts) as the block must seal them, or None when
    the document's change is incomplete (reconcile then rolls it back)."""
    rollback: Callable | None = None
    """fn(db, doc): undo an incomplete change that was never acknowledged."""
    label: Callable | None = None
    """fn(doc) -> the name the coverage check gives the document for this event (default:
    the subject's values)."""

    @property
    def heights(self):
        return ((self.sealed_at,) if self.sealed_at else ()) + tuple(self.also_at)


@dataclass(frozen=True, eq=False)
class DocumentCoverage:
    """A coverage check that names each document's sealing heights from the document alone:
    `of(doc)` yields (collection, doc_id, sealed_height | None). Called with `db` it is a
    plain coverage check (one read with `fields`); the audit instead reads the collection
    once for it and for the authority check of the same documents."""
    collection: str
    of: Callable
    fields: dict | None = None

    def __call__(self, db):
        for doc in db[self.collection].find({}, self.fields):
            yield from self.of(doc)


_shared_readers = {}  # (collection, path, projection) -> prefetch companion, one window for all


def _reader(event):
    if event.prefetch is not None:
        return event.prefetch
    if not (event.collection and event.sealed_at):
        return None
    key = (event.collection, event.sealed_at, tuple(sorted((event.projection or {}).items())))
    if key not in _shared_readers:
        _shared_readers[key] = prefetch_by(event.collection, event.sealed_at, event.projection)
    return _shared_readers[key]


def declare(events=(), coverage=()):
    """Register a domain's event kinds and coverage checks (idempotent)."""
    for event in events:
        if event.collection and not (event.subject and event.actor and event.sealed):
            raise ValueError(f"{event.kind}: a kind with a document needs subject, actor and "
                             "sealed, so that reconcile can finish it after a crash")
        DECLARED[event.kind] = event
        for table, value in ((ATTRIBUTE_SOURCES, event.rebuild), (PREFETCH, _reader(event))):
            if value is None:
                table.pop(event.kind, None)
            else:
                table[event.kind] = value
    for check in coverage:
        if check not in COVERAGE:
            COVERAGE.append(check)


def pending_kinds():
    """{collection: [kinds]} of the kinds whose changes reconcile may have to finish."""
    found = {}
    for event in DECLARED.values():
        if event.collection:
            found.setdefault(event.collection, []).append(event.kind)
    return found


def kinds():
    """Every declared event kind, sorted."""
    return sorted(DECLARED)


def document_kinds():
    """{kind: collection} for the events that create a document their block must find."""
    return {event.kind: event.collection for event in DECLARED.values() if event.creates_document}


def height_indexes():
    """{collection: [(keys, options)]}: an index on each sealing height, for the audit's
    window reads, and on the pending marker, for reconcile."""
    found = {}
    for event in DECLARED.values():
        if not event.collection:
            continue
        specs = found.setdefault(event.collection, [([(f"{PENDING}.kind", 1)], {"sparse": True})])
        spec = ([(event.sealed_at, 1)], {})
        if event.sealed_at and spec not in specs:
            specs.append(spec)
    return found


# Helpers for prefetch companions and the rebuilds that use them -----------------------------

def coverage_name(covered):
    """How a finding names a coverage check: its collection, or its module's name."""
    return getattr(covered, "collection", None) or covered.__module__.rsplit(".", 1)[-1]


def field_of(doc, path):
    """The value at a dotted path ("seals.revoked.height"), or None."""
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def by_key(docs, key):
    """{key(doc): doc}, without keys two documents share (their blocks use their own lookup)."""
    found, shared = {}, set()
    for doc in docs:
        value = key(doc)
        try:
            if value in shared:
                continue
            if value in found:
                del found[value]
                shared.add(value)
            else:
                found[value] = doc
        except TypeError:  # an unhashable (tampered) value: never a shortcut
            continue
    return found


def _heights(value):
    """The integer heights an equality lookup finds `value` at: 12 and 12.0 at 12, an array
    at each of its elements, anything else at none."""
    if isinstance(value, list):
        return {height for item in value if not isinstance(item, list)
                for height in _heights(item)}
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {int(value)}
    if isinstance(value, (float, Decimal128)):
        number = Decimal(value.to_decimal() if isinstance(value, Decimal128) else value)
        return {int(number)} if number.is_finite() and number == int(number) else set()
    return set()


def sealed_in(collection, path, lo, hi, projection=None):
    """{height: document} of the documents whose `path` (an indexed height) is in [lo, hi),
    leaving out any height more than one of them could answer to."""
    found, seen = {}, set()
    for doc in collection.find({path: {"$gte": lo, "$lt": hi}}, projection):
        for height in _heights(field_of(doc, path)):
            if height in seen:
                found.pop(height, None)
            elif lo <= height < hi:
                found[height] = doc
            seen.add(height)
    return found


def prefetch_by(collection, path, projection=None):
    """A prefetch companion: `collection`'s documents by the indexed sealing height at `path`."""
    def prefetch(db, lo, hi):
        return sealed_in(db[collection], path, lo, hi, projection)
    prefetch.__qualname__ = prefetch.__name__ = f"prefetch_by({collection}, {path})"
    return prefetch


def find_in(collection, field, values, projection=None):
    """{value: document} for documents whose unique `field` is one of `values` (strings),
    in short `$in` queries."""
    wanted = sorted({value for value in values if isinstance(value, str)})
    found = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start:start + IN_CHUNK]
        found.update(by_key(collection.find({field: {"$in": chunk}}, projection),
                            lambda doc: doc.get(field)))
    return found


def _kind(value):
    """int for any integer (a BSON int64 decodes as Int64), but never for a bool."""
    return int if isinstance(value, int) and not isinstance(value, bool) else type(value)


def same(value, wanted):
    """Equal and of the same kind (True is not 1, 1.0 is not 1): only then is a prefetched
    document certainly the one an equality lookup on `wanted` returns."""
    return _kind(value) is _kind(wanted) and value == wanted


def take(prefetched, block, is_named):
    """The document prefetched for this block's height if `is_named(doc)` (it is the one the
    block's subject names), else None: the rebuild then does its own lookup. Taken documents
    leave the window, so its memory shrinks as the audit moves through it."""
    if not prefetched:
        return None
    height = block.get("height")
    if _kind(height) is not int:
        return None
    doc = prefetched.pop(height, None)
    return doc if doc is not None and is_named(doc) else None


def rebuild_history_entry(db, block, prefetched, *, collection, id_field, subject_key, action,
                          entry_of, attributes):
    """(attributes, salts) of the history entry `action` that a block sealed in a document
    keeping one sealed entry per action (appointments, studies), or None when the block's
    subject names no such document or entry."""
    wanted = (block.get("subject") or {}).get(subject_key)
    if not isinstance(wanted, str):
        return None
    doc = take(prefetched, block, lambda each: same(each.get(id_field), wanted))
    if doc is None:
        doc = db[collection].find_one({id_field: wanted})
    entry = entry_of(doc, action) if doc else None
    if entry is None:
        return None
    return attributes(doc, entry), ((doc.get("seals") or {}).get(action) or {}).get("salts", {})

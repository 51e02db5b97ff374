"""The registry of event kinds: for each kind of block, where its document lives and how the
audit rebuilds what the block sealed. Everything that needs the list of kinds derives it from
here: the block explorer's filter, the audit's document checks, reconcile, the height indexes.

Domain packages declare their kinds as `EventKind`s (with `EVENTS`, `COVERAGE` and `RESEALERS`
tuples in their modules) and `models.startup.install` registers them, once per process, at
start-up: this package never imports a domain.

- rebuild: `fn(db, block, data_key[, prefetched]) -> (attributes, salts) | None` rebuilds the
  event's attributes and salts from the current database state. The auditor recomputes the
  leaf hashes from it, so an edit made directly in MongoDB shows up as an
  `attribute-mismatch` naming the attribute.
- coverage: `fn(db) -> iterable of (collection, doc_id, sealed_height | None)` names every
  document that must be covered by a block (`unsealed-document` otherwise).
- a kind that `creates_document` must find its document (`missing-document` otherwise).
- resealers: how reconcile seals a document that a crash left without its block.

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
RESEALERS = []  # Resealer, for reconcile
IN_CHUNK = 50
"""Ids per `$in` query: the embedded server answers short lists by index, long ones far slower."""


@dataclass(frozen=True)
class EventKind:
    """One kind of block and where the document it seals lives."""
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


@dataclass(frozen=True)
class Resealer:
    """How reconcile finds a collection's documents written without their block, and seals
    (or links) each: `reseal(db, data_key, doc, fix) -> reconcile.Finding`."""
    collection: str
    unsealed: Callable
    reseal: Callable


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


def declare(events=(), coverage=(), resealers=()):
    """Register a domain's event kinds, coverage checks and resealers (idempotent)."""
    for event in events:
        DECLARED[event.kind] = event
        for table, value in ((ATTRIBUTE_SOURCES, event.rebuild), (PREFETCH, _reader(event))):
            if value is None:
                table.pop(event.kind, None)
            else:
                table[event.kind] = value
    for check in coverage:
        if check not in COVERAGE:
            COVERAGE.append(check)
    for resealer in resealers:
        if resealer not in RESEALERS:
            RESEALERS.append(resealer)


def kinds():
    """Every declared event kind, sorted."""
    return sorted(DECLARED)


def document_kinds():
    """{kind: collection} for the events that create a document their block must find."""
    return {event.kind: event.collection for event in DECLARED.values() if event.creates_document}


def height_indexes():
    """{collection: [(keys, options)]}: an index on each sealing height, for the audit's
    window reads."""
    found = {}
    for event in DECLARED.values():
        if event.collection and event.sealed_at:
            spec = ([(event.sealed_at, 1)], {})
            if spec not in found.setdefault(event.collection, []):
                found[event.collection].append(spec)
    return found


# Helpers for prefetch companions and the rebuilds that use them -----------------------------

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

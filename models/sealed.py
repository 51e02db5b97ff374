"""Where the audit finds, for each sealed block, the attributes it sealed.

A model that seals an event registers, for that block kind, a function that rebuilds the
event's attributes and salts from the current database state. The auditor recomputes the leaf
hashes from what this returns, so an edit made directly in MongoDB shows up as an
`attribute-mismatch` naming the attribute. Documents that must be covered by a block register a
`coverage` check so the audit can report `unsealed-document` and `missing-document`.
"""

ATTRIBUTE_SOURCES = {}  # block kind -> fn(db, block_doc, data_key) -> (attributes, salts) | None
COVERAGE = []  # fn(db) -> iterable of (collection, doc_id, sealed_height | None)


def attribute_source(*kinds):
    def register(fn):
        for kind in kinds:
            ATTRIBUTE_SOURCES[kind] = fn
        return fn
    return register


def coverage(fn):
    COVERAGE.append(fn)
    return fn

"""The indexes step: create declared indexes idempotently (at start-up and by `flask init-db`).

Each model module declares `INDEXES = {collection: [(keys, options), ...]}` beside its code
and the sealing registry derives the sealing-height indexes from the event kinds;
`models.startup` gathers both and hands them here, so this module knows no model.
"""


def merge(*declarations):
    """One {collection: [(keys, options)]} from several, without repeating an index."""
    merged = {}
    for declared in declarations:
        for collection, specs in declared.items():
            known = merged.setdefault(collection, [])
            for spec in specs:
                if spec not in known:
                    known.append(spec)
    return merged


def ensure_indexes(db, declared):
    """Create every declared index (creating an existing one again does nothing)."""
    for collection, specs in declared.items():
        for keys, options in specs:
            db[collection].create_index(keys, **options)

"""Indexes, created idempotently at start-up and by `flask init-db`.

Each model module declares `INDEXES = {collection: [(keys, options), ...]}`; this module only
collects them, so adding a collection means adding its declaration beside its code.
"""
import importlib

MODEL_MODULES = ("models.users", "models.accounts", "models.organizations", "models.verification",
                 "models.records", "models.consent", "models.emergency", "models.audit_trail",
                 "models.pharmacy",
                 "models.ledger_explorer", "models.ledger_activity", "models.ledger_audit")


def declared_indexes():
    for name in MODEL_MODULES:
        module = importlib.import_module(name)
        for collection, specs in getattr(module, "INDEXES", {}).items():
            for keys, options in specs:
                yield collection, keys, options


def ensure_indexes(db):
    from models import ledger_service
    for collection, keys, options in declared_indexes():
        db[collection].create_index(keys, **options)
    ledger_service.store_for(db).ensure_indexes()

"""Tamper-evident ledger: canonical encoding, RFC 6962 Merkle trees and signed checkpoints.

Pure Python with no Flask or database imports, so an auditor can run it on its own.
"""

# Public API (re-exported so the app and auditors need one import). The functions named like
# their modules stay there (`from ledger.audit import audit`, `from ledger.export import
# export`): re-exporting them here would hide the submodules `ledger.audit`/`ledger.export`.
from ledger.audit import AttributeSourceError, Problem, Report, check_consistency  # noqa: E402
from ledger.block import block_hash, header_of, make_header  # noqa: E402
from ledger.chain import AppendConflict, CheckpointPolicy, Ledger, LedgerError  # noqa: E402
from ledger.export import DirectoryStore, audit_export  # noqa: E402
from ledger.receipt import ReceiptError, make_receipt, verify_receipt  # noqa: E402
from ledger.store import HeightTaken, MemoryStore, MongoStore  # noqa: E402

__all__ = ["AttributeSourceError", "Problem", "Report", "check_consistency",
           "block_hash", "header_of", "make_header", "AppendConflict", "CheckpointPolicy",
           "Ledger", "LedgerError", "DirectoryStore", "audit_export", "ReceiptError",
           "make_receipt", "verify_receipt", "HeightTaken", "MemoryStore", "MongoStore"]

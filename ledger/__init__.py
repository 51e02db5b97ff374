"""Tamper-evident ledger: canonical encoding, RFC 6962 Merkle trees and signed checkpoints.

Pure Python with no Flask or database imports, so an auditor can run it on its own.
"""

"""Receipts for record versions: proof, checkable offline, that a version is on the ledger.

A patient may take a receipt for their own records, a doctor for the versions they wrote.
The receipt holds the block header, a signed checkpoint and the inclusion proof, plus any
attributes the holder chooses to disclose (value, salt and attribute-tree proof each); the
others stay hidden behind their salted leaf hashes. A receipt is verified here before it is
handed out, so the app never issues one that `python -m ledger verify-receipt` would reject.
"""
from flask import current_app
from ledger.receipt import ReceiptError, make_receipt, verify_receipt

from models.clinical import records
from models.core.errors import Conflict, InvalidInput, NotFound
from models.people import users
from models.sealing import checkpoints, proofs, trust, witnesses
from models.sealing.seam import store_for
from models.storage.crypto import TamperedCiphertext

RECORD_KINDS = (records.CREATED, records.AMENDED_KIND)


class _ProofSource:
    """What make_receipt needs from a ledger, with proofs from the subtree cache."""

    def __init__(self, db):
        self.db = db

    def get(self, height):
        return store_for(self.db).get_block(height)

    def inclusion_proof(self, height, size):
        return proofs.inclusion_proof(self.db, height, size)


def may_take_receipt(user, doc):
    if user["role"] == users.PATIENT:
        return doc["patient_id"] == user["human_id"]
    if user["role"] == users.DOCTOR:
        return doc["author_id"] == user["human_id"]
    return False


def receipt_versions(db, user):
    """The record versions this person may take receipts for (envelopes only)."""
    if user["role"] == users.PATIENT:
        return records.for_patient(db, user["human_id"])
    if user["role"] == users.DOCTOR:
        return records.authored_by(db, user["human_id"])
    return []


def require_version(db, user, record_id, version):
    """The version if this person may take its receipt; anyone else's is simply not found."""
    doc = records.get_version(db, (record_id or "").strip().upper(), version)
    if doc is None or not may_take_receipt(user, doc):
        raise NotFound("There is no such record of yours.")
    return doc


def sealed_block(db, doc):
    height = doc.get("sealed_height")
    if height is None:
        raise Conflict("This version is not sealed on the ledger yet; try again shortly.")
    block = store_for(db).get_block(height)
    expected = {"record": doc["record_id"], "version": doc["version"]}
    if block is None or block.get("subject") != expected or block.get("kind") not in RECORD_KINDS:
        raise Conflict("The ledger does not hold this version's block where the record says; "
                       "an auditor has to look at it. No receipt was made.")
    return block


def sealed_values(data_key, doc):
    """(attributes, salts) as sealed for this version (from its encrypted payload)."""
    try:
        payload = records.open_payload(data_key, doc)
    except TamperedCiphertext:
        raise Conflict("This version's stored data fails its integrity check; no receipt "
                       "can be made. An auditor has to look at it.") from None
    return records.sealed_attributes(doc, payload["data"]), payload["salts"]


def attribute_names(data_key, doc):
    attributes, _ = sealed_values(data_key, doc)
    return sorted(attributes)


def _covering_note(db, height, app):
    """The newest checkpoint the witnesses cosigned, with their cosignatures, if it covers the
    block; else the latest checkpoint (signed now if none covers it yet)."""
    cosigned = witnesses.cosigned_note(db, height, app)
    if cosigned is not None:
        return cosigned
    latest = store_for(db).latest_checkpoint()
    if latest is None or latest["size"] <= height:
        latest = checkpoints.create(db, app)
    return latest["note"]


def build(db, user, record_id, version, disclose=(), app=None):
    """A verified receipt (a JSON-able dict) for one of this person's record versions."""
    app = app or current_app
    doc = require_version(db, user, record_id, version)
    block = sealed_block(db, doc)
    attributes, salts = sealed_values(app.extensions["medledger"]["data_key"], doc)
    unknown = [name for name in disclose if name not in attributes]
    if unknown:
        raise InvalidInput("Choose attributes of this record.",
                           {"disclose": "Choose attributes of this record."})
    note = _covering_note(db, block["height"], app)
    try:
        receipt = make_receipt(_ProofSource(db), block["height"], note,
                               {name: (attributes[name], salts[name]) for name in disclose})
    except (ReceiptError, proofs.MissingBlock) as exc:
        raise Conflict(f"No receipt could be made: {exc}.") from None
    ok, reason = verify_receipt(receipt, trust.verifiers(app))
    if not ok:
        raise Conflict(f"The ledger does not prove this version right now ({reason}); an "
                       "auditor has to look at it. No receipt was made.")
    return receipt

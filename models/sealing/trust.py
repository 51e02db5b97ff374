"""Which public keys the app trusts for checkpoints, and rotating the signing key.

The signing key is a file outside MongoDB. After a rotation, old checkpoints still carry the
old key's signature, so the verifiers come from a trust file in the instance folder (keys with
the tree sizes each may sign); before any rotation it is just the current key's public half.
"""
import os

from flask import current_app
from ledger.block import ROTATION_KIND
from ledger.notes import SigningKey, TrustEntry, TrustFile

from models.sealing import checkpoint_log
from models.sealing.registry import EventKind
from models.sealing.seam import ledger_for
from models.storage import keys

TRUST_FILE_NAME = "ledger-trust.json"
ROTATION_ACTOR = "ledger-key-rotation"


def trust_file_path(app=None):
    app = app or current_app
    return app.config.get("LEDGER_TRUST_FILE") or os.path.join(app.instance_path, TRUST_FILE_NAME)


def signing_key(app=None):
    app = app or current_app
    return app.extensions["medledger"]["ledger_key"]


def origin(app=None):
    return (app or current_app).config["LEDGER_ORIGIN"]


def trust_file(app=None):
    """The trust file if there is one, else None."""
    path = trust_file_path(app)
    return TrustFile.load(path) if os.path.exists(path) else None


def verifiers(app=None):
    """A TrustFile (after a rotation) or the current key's public half."""
    found = trust_file(app)
    if found is not None:
        current = signing_key(app).public()
        if not any(entry.vkey == current for entry in found.entries):
            found.entries.append(TrustEntry(current, 0))
        return found
    return [signing_key(app).public()]


def public_keys(app=None):
    """[{vkey, key_id, fingerprint, from_size, to_size, current}] for the overview page."""
    current = signing_key(app).public()
    found = trust_file(app)
    entries = found.entries if found is not None else [TrustEntry(current, 0)]
    return [{"vkey": str(entry.vkey), "name": entry.vkey.name, "key_id": entry.vkey.key_id.hex(),
             "fingerprint": entry.vkey.fingerprint, "from_size": entry.from_size,
             "to_size": entry.to_size, "current": entry.vkey == current}
            for entry in entries]


def rotate(db, app=None, new_key=None):
    """Introduce a new signing key, announced on the chain and signed by the old one.

    Appends a `checkpoint` block naming the new key and a checkpoint signed by both keys,
    extends the trust file (old key valid up to the hand-over size, new key from it), moves
    the old key file aside (`.retired-<key id>`, still 0600) and adds the new fingerprint to
    the database's list. Running app processes pick up the new key when restarted.
    """
    app = app or current_app
    old_key = signing_key(app)
    new_key = new_key or SigningKey.generate(old_key.name)
    path = keys.ledger_key_path(app)
    pending = f"{path}.new"
    if os.path.exists(pending):
        os.remove(pending)
    new_key.save(pending)
    block, note = ledger_for(db).rotate_key(old_key, new_key, origin(app),
                                           actor=ROTATION_ACTOR)
    checkpoint_log.keep(note, block["height"] + 1, app)
    trust = trust_file(app) or TrustFile([TrustEntry(old_key.public(), 0)])
    trust.add(new_key.public(), from_size=block["height"] + 1)
    trust.save(trust_file_path(app))
    os.replace(path, f"{path}.retired-{old_key.key_id.hex()}")
    os.replace(pending, path)
    if os.path.exists(path + ".pub"):
        os.remove(path + ".pub")
    new_key.public().save(path + ".pub")
    db.meta.update_one({"_id": "keys"}, {"$addToSet": {"ledger_keys": new_key.public().fingerprint}})
    app.extensions["medledger"]["ledger_key"] = new_key
    return block, note, new_key


EVENTS = (EventKind(ROTATION_KIND),)
"""A key rotation's block: its attributes are public and saved with its checkpoint."""

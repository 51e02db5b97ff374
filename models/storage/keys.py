"""The keys that protect the records: the AES data key, the ledger signing key and the
authority key (the MACs on documents that decide who may do what).

All are files outside MongoDB (mode 0600). The database keeps only their fingerprints, so
the app can refuse to run against data sealed, encrypted or authenticated under a key it does
not have, instead of showing garbage or writing with a new key.
"""
import hashlib
import os
import secrets

from ledger.notes import SigningKey

from models.storage.authority import Keyring

DATA_KEY_BYTES = 32


class KeyProblem(RuntimeError):
    """A key is missing or does not match the data in the database."""


def _path(app, config_name, default_name):
    return app.config.get(config_name) or os.path.join(app.instance_path, default_name)


def data_key_path(app):
    return _path(app, "DATA_KEY_FILE", "data.key")


def ledger_key_path(app):
    return _path(app, "LEDGER_KEY_FILE", "ledger.key")


def authority_key_path(app):
    return _path(app, "AUTHORITY_KEY_FILE", "authority.key")


def load_authority_keys(app):
    path = authority_key_path(app)
    if not os.path.exists(path):
        if not app.config.get("GENERATE_MISSING_KEYS"):
            raise KeyProblem(f"authority key file {path} is missing (set AUTHORITY_KEY_FILE)")
        Keyring.create(path)
    try:
        return Keyring.load(path)
    except ValueError as exc:
        raise KeyProblem(f"authority key file {path}: {exc}") from None


def _write_private(path, content):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def load_data_key(app):
    path = data_key_path(app)
    if not os.path.exists(path):
        if not app.config.get("GENERATE_MISSING_KEYS"):
            raise KeyProblem(f"data key file {path} is missing (set DATA_KEY_FILE)")
        _write_private(path, secrets.token_bytes(DATA_KEY_BYTES).hex().encode() + b"\n")
    return read_data_key(path)


def read_data_key(path):
    """The data key in an existing key file (an audit worker reads the app's own file)."""
    with open(path, "rb") as handle:
        key = bytes.fromhex(handle.read().decode().strip())
    if len(key) != DATA_KEY_BYTES:
        raise KeyProblem(f"data key file {path} does not hold a 256-bit key")
    return key


def load_ledger_key(app):
    path = ledger_key_path(app)
    if not os.path.exists(path):
        if not app.config.get("GENERATE_MISSING_KEYS"):
            raise KeyProblem(f"ledger signing key file {path} is missing (set LEDGER_KEY_FILE)")
        key = SigningKey.generate(app.config["LEDGER_ORIGIN"])
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        key.save(path)
        key.public().save(path + ".pub")
    return SigningKey.load(path)


def data_key_fingerprint(key):
    return hashlib.sha256(b"medledger data key\n" + key).hexdigest()[:32]


def check_fingerprints(db, data_key, ledger_key, data_key_file, ledger_key_file,
                       authority=None, authority_key_file=None):
    """Record fingerprints on first use; refuse a database sealed under other keys."""
    data_fp = data_key_fingerprint(data_key)
    ledger_fp = ledger_key.public().fingerprint
    stored = db.meta.find_one({"_id": "keys"})
    if stored is None:
        db.meta.update_one({"_id": "keys"}, {"$setOnInsert": {
            "data_key": data_fp, "ledger_keys": [ledger_fp],
            "authority_keys": authority.fingerprints() if authority else []}}, upsert=True)
        stored = db.meta.find_one({"_id": "keys"})
    if authority is not None:
        known = stored.get("authority_keys")
        if known is None:  # a database from before authority keys: adopt this one
            db.meta.update_one({"_id": "keys"},
                               {"$set": {"authority_keys": authority.fingerprints()}})
        elif not set(known) & set(authority.fingerprints()):
            raise KeyProblem(f"the database's documents are authenticated under another "
                             f"authority key than {authority_key_file}; restore that key file")
    if stored["data_key"] != data_fp:
        raise KeyProblem(f"the database holds records encrypted under another data key than "
                        f"{data_key_file} (fingerprint {stored['data_key']}); restore that key file")
    if ledger_fp not in stored.get("ledger_keys", []):
        raise KeyProblem(f"the database's ledger was signed with other keys than {ledger_key_file}; "
                        "restore that key file or rotate with `flask ledger rotate-key`")

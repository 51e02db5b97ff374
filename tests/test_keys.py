"""Key files: created 0600 in development, required in production, checked against the DB."""
import os
import stat

import mongomock
import pytest

from app import create_app
from models.storage.keys import KeyProblem
from tests.conftest import make_config


def test_keys_are_created_private_outside_the_database(app, db):
    for path in (app.config["DATA_KEY_FILE"], app.config["LEDGER_KEY_FILE"],
                 os.path.join(app.instance_path, "authority.key")):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, path
    stored = db.meta.find_one({"_id": "keys"})
    data_key = app.extensions["medledger"]["data_key"]
    assert data_key.hex() not in str(stored)
    ring = app.extensions["medledger"]["authority_keys"]
    assert not any(key.hex() in str(stored) for key in ring.keys.values())
    assert set(stored) == {"_id", "data_key", "ledger_keys", "authority_keys"}
    assert stored["authority_keys"] == ring.fingerprints()


def test_app_refuses_documents_authenticated_under_another_authority_key(tmp_path):
    shared = mongomock.MongoClient(tz_aware=True)
    create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    os.remove(tmp_path / "instance" / "authority.key")
    with pytest.raises(KeyProblem, match="another authority key than .*authority.key"):
        create_app(make_config(tmp_path, MONGO_CLIENT=shared))


def test_app_refuses_a_database_encrypted_under_another_data_key(tmp_path):
    shared = mongomock.MongoClient(tz_aware=True)
    create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    os.remove(tmp_path / "instance" / "data.key")
    with pytest.raises(KeyProblem, match="another data key than .*data.key"):
        create_app(make_config(tmp_path, MONGO_CLIENT=shared))


def test_app_refuses_a_ledger_signed_under_another_key(tmp_path):
    shared = mongomock.MongoClient(tz_aware=True)
    create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    os.remove(tmp_path / "instance" / "ledger.key")
    with pytest.raises(KeyProblem, match="ledger was signed with other keys"):
        create_app(make_config(tmp_path, MONGO_CLIENT=shared))


def test_same_keys_start_again(tmp_path):
    shared = mongomock.MongoClient(tz_aware=True)
    first = create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    second = create_app(make_config(tmp_path, MONGO_CLIENT=shared))
    assert first.extensions["medledger"]["data_key"] == second.extensions["medledger"]["data_key"]

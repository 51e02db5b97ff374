"""The storage module: backend choice, the embedded server's life cycle, indexes."""
import os
import pathlib
import subprocess
import sys
import textwrap
import types

import pymongo.errors
import pytest

from app import create_app
from models.people import users
from models.storage import db as storage
from tests.conftest import make_config


@pytest.mark.parametrize("uri,kind", [("", "embedded"), ("secantus:/tmp/x", "embedded"),
                                      ("mongomock://", "mongomock"),
                                      ("mongodb://db1,db2/?replicaSet=rs0", "mongodb"),
                                      ("mongodb+srv://cluster.example", "mongodb")])
def test_backend_is_chosen_by_uri(uri, kind):
    assert storage.backend(uri) == kind


def test_unknown_uri_is_refused():
    with pytest.raises(RuntimeError, match="MONGO_URI"):
        storage.backend("postgres://x")


def test_indexes_are_created_idempotently(app, db):
    from models import startup as schema
    schema.ensure_indexes(db)
    schema.ensure_indexes(db)
    names = db.users.index_information()
    assert any(info.get("unique") and info["key"] == [("username", 1)] for info in names.values())
    assert any(info.get("unique") and info["key"] == [("human_id", 1)] for info in names.values())


def test_human_ids_are_unique_and_sequential(db):
    from models.core import ids
    made = [ids.next_id(db, "patient") for _ in range(5)]
    assert made == [f"PAT-{n:06d}" for n in range(1, 6)]


@pytest.mark.integration
def test_human_ids_stay_unique_under_concurrency(app, db):
    from concurrent.futures import ThreadPoolExecutor

    from models.core import ids
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: ids.next_id(db, "doctor"), range(200)))
    assert len(set(made)) == 200


@pytest.mark.integration
def test_embedded_tier_speaks_real_pymongo(db):
    import pymongo
    assert isinstance(db.client, pymongo.MongoClient)
    db.things.create_index("k", unique=True)
    db.things.insert_one({"k": 1})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.things.insert_one({"k": 1})


EMBEDDED_SCRIPT = textwrap.dedent("""
    import sys
    from app import create_app
    from models.storage.db import get_db
    config = {"INSTANCE_PATH": sys.argv[1], "MONGO_URI": "", "RATELIMIT_STORAGE_URI": "memory://"}
    app = create_app(config)
    with app.app_context():
        db = get_db()
        if sys.argv[2] == "write":
            db.notes.insert_one({"_id": "kept", "text": "survives restarts"})
        print(db.notes.find_one({"_id": "kept"})["text"])
""")


@pytest.mark.integration
def test_embedded_default_keeps_data_across_restarts(tmp_path):
    """The default backend starts its own server under instance/, and stops it at exit."""
    instance = tmp_path / "instance"
    for mode in ("write", "read"):
        result = subprocess.run([sys.executable, "-c", EMBEDDED_SCRIPT, str(instance), mode],
                                capture_output=True, text=True, timeout=120,
                                cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip().endswith("survives restarts")
    assert (instance / "db").is_dir()
    leftover = subprocess.run(["pgrep", "-f", f"storage-path {instance}/db"], capture_output=True)
    assert leftover.stdout == b""


@pytest.mark.integration
def test_the_embedded_server_gets_no_retryable_writes(tmp_path):
    """SecantusDB's registry of retryable-write replies costs a scan and a sort of up to
    10,000 entries on every write once it is full (bench/README.md): the app's own embedded
    server is written to without it (a MONGO_URI keeps whatever it says)."""
    script = textwrap.dedent("""
        import sys
        from app import create_app
        from models.storage.db import get_db
        app = create_app({"INSTANCE_PATH": sys.argv[1], "MONGO_URI": "",
                          "RATELIMIT_STORAGE_URI": "memory://"})
        with app.app_context():
            db = get_db()
            db.notes.insert_one({"n": 1})
            print("embedded", db.client.options.retry_writes)
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "instance")],
                            capture_output=True, text=True, timeout=120,
                            cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "embedded False"


def test_production_refuses_missing_secrets(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "MONGO_URI", "DATA_KEY_FILE", "LEDGER_KEY_FILE",
                 "AUTHORITY_KEY_FILE", "RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_a_non_mongodb_backend(tmp_path):
    config = {"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 32,
              "MONGO_URI": "mongomock://", "DATA_KEY_FILE": "/nonexistent/k",
              "LEDGER_KEY_FILE": "/nonexistent/l", "AUTHORITY_KEY_FILE": "/nonexistent/a",
              "RATELIMIT_STORAGE_URI": "memory://"}
    with pytest.raises(RuntimeError, match="replica set"):
        create_app(config)


def test_production_refuses_missing_key_files(tmp_path):
    from models.storage.keys import KeyProblem
    config = {"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 32,
              "MONGO_URI": "mongodb://127.0.0.1:1/", "DATA_KEY_FILE": str(tmp_path / "none.key"),
              "LEDGER_KEY_FILE": str(tmp_path / "none-ledger.key"),
              "AUTHORITY_KEY_FILE": str(tmp_path / "none-authority.key"),
              "RATELIMIT_STORAGE_URI": "memory://",
              "MONGO_CLIENT": __import__("mongomock").MongoClient(tz_aware=True)}
    with pytest.raises(KeyProblem, match="data key file .* is missing"):
        create_app(config)


def test_production_cookies_are_secure_behind_proxy(tmp_path):
    from werkzeug.middleware.proxy_fix import ProxyFix
    dev = create_app(make_config(tmp_path))  # generates key files in the instance folder
    config = {"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path / "instance"),
              "SECRET_KEY": "x" * 32, "MONGO_URI": "mongodb://127.0.0.1:1/",
              "DATA_KEY_FILE": dev.config["DATA_KEY_FILE"],
              "LEDGER_KEY_FILE": dev.config["LEDGER_KEY_FILE"],
              "AUTHORITY_KEY_FILE": dev.config["AUTHORITY_KEY_FILE"],
              "RATELIMIT_STORAGE_URI": "memory://",
              "MONGO_CLIENT": __import__("mongomock").MongoClient(tz_aware=True),
              "WTF_CSRF_ENABLED": False, "BCRYPT_ROUNDS": 4}
    app = create_app(config)
    assert isinstance(app.wsgi_app, ProxyFix)
    with app.app_context():
        from models.storage.db import get_db
        users.create_user(get_db(), username="p1", role=users.PATIENT, name="P",
                          password="a long enough pass", rounds=4)
    response = app.test_client().post("/login", data={"username": "p1", "password": "a long enough pass"},
                                      headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


@pytest.mark.integration
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_embedded_server_stops_when_the_app_process_is_stopped(tmp_path, signal_name):
    import os
    import pathlib
    import signal
    import time
    instance = tmp_path / "instance"
    script = EMBEDDED_SCRIPT + "\nimport time\nprint('ready', flush=True)\ntime.sleep(120)\n"
    process = subprocess.Popen([sys.executable, "-c", script, str(instance), "write"],
                               stdout=subprocess.PIPE, text=True,
                               cwd=str(pathlib.Path(__file__).resolve().parents[1]))
    try:
        assert process.stdout.readline().strip() == "survives restarts"
        assert process.stdout.readline().strip() == "ready"
        pattern = f"storage-path {instance}/db"
        assert subprocess.run(["pgrep", "-f", pattern], capture_output=True).stdout
        os.kill(process.pid, getattr(signal, signal_name))
        process.wait(30)
        deadline = time.monotonic() + 20
        while subprocess.run(["pgrep", "-f", pattern], capture_output=True).stdout:
            assert time.monotonic() < deadline, "embedded server outlived the app"
            time.sleep(0.2)
        # What was written before the app died is there at the next start (a killed server's
        # journal is replayed).
        again = subprocess.run([sys.executable, "-c", EMBEDDED_SCRIPT, str(instance), "read"],
                               capture_output=True, text=True, timeout=120,
                               cwd=str(pathlib.Path(__file__).resolve().parents[1]))
        assert again.returncode == 0, again.stderr[-2000:]
        assert again.stdout.strip() == "survives restarts"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_the_guard_kills_a_server_that_hangs_on_sigterm(monkeypatch):
    """The guard's last resort, for a server whose SIGTERM handler deadlocked (its fsync was
    asked for first, so nothing acknowledged is lost)."""
    import time

    from models.storage import embedded_guard
    flushed = []
    monkeypatch.setattr(embedded_guard, "flush", flushed.append)
    monkeypatch.setattr(embedded_guard, "STOP_SECONDS", 1.0)
    stuck = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              "print('up', flush=True)\ntime.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert stuck.stdout.readline().strip() == "up"
        started = time.monotonic()
        embedded_guard.stop(stuck, 27999)
        assert stuck.returncode == -9 and time.monotonic() - started < 10
        assert flushed == [27999]
    finally:
        if stuck.poll() is None:
            stuck.kill()
        stuck.stdout.close()


@pytest.mark.parametrize("uri, kind, expected", [
    ("", "embedded", {"journal": True, "w": 1}),
    ("mongodb://db1,db2/?replicaSet=rs0", "mongodb", {"journal": True, "w": "majority"}),
    ("mongodb://db1/?w=2&journal=false", "mongodb", {}),
])
def test_acknowledged_writes_wait_for_the_journal(uri, kind, expected):
    """What the app acknowledges survives kill -9 of the database: journaled writes (and a
    majority on a replica set), unless MONGO_URI says otherwise itself."""
    assert storage.write_concern_options(uri, kind) == expected


@pytest.mark.integration
def test_a_flask_command_on_a_mongodb_uri_exits_without_a_traceback(tmp_path, embedded_uri):
    """The rate limiter's MongoDB storage used to open a client in its destructor at exit."""
    env = dict(os.environ, MONGO_URI=embedded_uri, MONGO_DB="cli_exit",
               DATA_KEY_FILE=str(tmp_path / "data.key"),
               LEDGER_KEY_FILE=str(tmp_path / "ledger.key"))
    env.pop("RATELIMIT_STORAGE_URI", None)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "ledger", "verify"],
                            capture_output=True, text=True, timeout=120, env=env,
                            cwd=str(pathlib.Path(__file__).resolve().parents[1]))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("SOUND")
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def test_the_ledger_reads_at_majority_and_keeps_the_write_concern(db):
    """On a replica set a tip read at `local` after a lost race could link to a block that a
    failover rolls back (docs/scaling.md): every ledger read goes at majority."""
    from models.sealing.seam import store_for
    store = store_for(db)
    for collection in (store.blocks, store.meta, store.checkpoints):
        assert collection.read_concern.level == "majority"
        assert collection.write_concern == db.blocks.write_concern


def test_close_client_closes_and_forgets_the_process_client():
    """A test's own database process goes away before this process does: its client is
    closed (no "Unclosed MongoClient" at exit) and the next use makes a fresh one."""
    uri = "mongodb://127.0.0.1:1/?directConnection=true"  # never contacted: connect=False
    app = types.SimpleNamespace(config={"MONGO_URI": uri, "MONGO_DB": "x"}, extensions={})
    first = storage.client(app)
    assert storage.client(app) is first  # one client per process and address
    storage.close_client(uri)
    with pytest.raises(pymongo.errors.InvalidOperation):
        first.admin.command("ping")
    second = storage.client(app)
    assert second is not first
    storage.close_client(uri)
    storage.close_client(uri)  # nothing left to close: no error

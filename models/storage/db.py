"""The one storage module: picks the backend from MONGO_URI and hands out pymongo objects.

Everything else uses pymongo's own API and errors. One client per process, created lazily,
so that Flask's reloader parent never starts an embedded server.

Durability: what the app acknowledges must survive `kill -9` of any process, so every write
waits for the journal (`j: true`: the embedded server then fsyncs that commit) and, on a
MongoDB replica set, for a majority (`w: "majority"`), unless MONGO_URI says otherwise.
`reconnects()` counts the times the driver dropped its connections (a server restarted or
unreachable), so that caches of database state (the ledger's tip) are read again after one.
"""
import os
import threading

import pymongo
from flask import current_app
from pymongo import monitoring, uri_parser

from models.storage.embedded import EmbeddedServer

_lock = threading.Lock()
_clients = {}  # uri -> MongoClient, one per process
_servers = {}  # storage path -> EmbeddedServer
_reconnect_count = 0


class _PoolWatch(monitoring.ConnectionPoolListener):
    """Counts cleared pools: pymongo clears a server's pool on a network error or when the
    server is marked unknown, which is every way a restart of the database shows."""

    def pool_cleared(self, event):
        global _reconnect_count
        _reconnect_count += 1

    def pool_created(self, event): pass
    def pool_ready(self, event): pass
    def pool_closed(self, event): pass
    def connection_created(self, event): pass
    def connection_ready(self, event): pass
    def connection_closed(self, event): pass
    def connection_check_out_started(self, event): pass
    def connection_check_out_failed(self, event): pass
    def connection_checked_out(self, event): pass
    def connection_checked_in(self, event): pass


def reconnects():
    """How many times a connection pool was cleared in this process (only ever grows)."""
    return _reconnect_count


def unjournaled(collection):
    """The collection for writes that need no journal of their own: a convenience that can
    be rebuilt (the day counter), or a step that reconcile repairs if a crash loses it (a
    block's height on its document; the block itself was journaled, and every earlier write
    with it, for the server keeps one log). Saves an fsync per sealed change."""
    concern = collection.write_concern
    if not concern.acknowledged or not concern.document.get("j"):
        return collection
    return collection.with_options(write_concern=pymongo.WriteConcern(
        **{key: value for key, value in concern.document.items() if key != "j"}))


def write_concern_options(uri, kind):
    """The write concern for acknowledged writes: journaled, and majority on MongoDB; an
    option the URI sets itself wins."""
    given = {name.lower() for name in uri_parser.parse_uri(uri)["options"]} if kind == "mongodb" \
        else set()
    options = {}
    if "journal" not in given:
        options["journal"] = True
    if "w" not in given:
        options["w"] = "majority" if kind == "mongodb" else 1
    return options


def backend(uri):
    if not uri or uri.startswith("secantus:"):
        return "embedded"
    if uri.startswith("mongomock://"):
        return "mongomock"
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        return "mongodb"
    raise RuntimeError(f"MONGO_URI {uri!r}: use mongodb://, mongodb+srv://, mongomock:// or secantus:<dir>")


def _embedded_path(app, uri):
    path = uri[len("secantus:"):] if uri else ""
    return path or os.path.join(app.instance_path, "db")


def _new_client(app, uri):
    kind = backend(uri)
    if kind == "mongomock":
        import mongomock
        import mongomock.gridfs
        mongomock.gridfs.enable_gridfs_integration()
        return mongomock.MongoClient(tz_aware=True)
    options = {"event_listeners": [_PoolWatch()]}
    if kind == "embedded":
        path = _embedded_path(app, uri)
        server = _servers.get(path)
        if server is None:
            server = _servers[path] = EmbeddedServer(path).start()
        uri = server.uri
        # SecantusDB keeps the reply of every retryable write for 30 minutes (up to 10,000)
        # and scans and sorts that whole registry on each write once it is full: 9-14 ms of
        # server CPU per insert instead of under 1 ms (bench/retryable_writes_bench.py). It is
        # on loopback, where a retry would rarely help, so writes are sent without it. A
        # MONGO_URI to a secantusd-py started by hand should say `retryWrites=false` too.
        options["retryWrites"] = False
    options.update(write_concern_options(uri, kind))
    return pymongo.MongoClient(uri, tz_aware=True, connect=False,
                               serverSelectionTimeoutMS=10_000, **options)


def client(app=None):
    app = app or current_app
    injected = app.config.get("MONGO_CLIENT")
    if injected is not None:
        return injected
    uri = app.config.get("MONGO_URI", "")
    if backend(uri) == "mongomock":
        # Each test app gets its own in-process database.
        store = app.extensions.setdefault("medledger", {})
        if "mongomock_client" not in store:
            store["mongomock_client"] = _new_client(app, uri)
        return store["mongomock_client"]
    with _lock:
        key = uri or _embedded_path(app, uri)
        if key not in _clients:
            _clients[key] = _new_client(app, uri)
        return _clients[key]


def close_client(uri):
    """Close and forget this process's client for `uri`, if it has one: for a server that is
    going away (a test's own database process) before this process ends."""
    with _lock:
        found = _clients.pop(uri, None)
    if found is not None:
        found.close()


def get_db(app=None):
    app = app or current_app
    return client(app)[app.config["MONGO_DB"]]


def embedded_uri(app=None):
    """The TCP address of the embedded server, for tools that need a URI (rate-limit storage)."""
    app = app or current_app
    client(app)
    server = _servers.get(_embedded_path(app, app.config.get("MONGO_URI", "")))
    return server.uri if server else None

"""Every signed checkpoint is also kept outside the database, in an append-only file.

An insider who deletes the stored checkpoints and rewrites the whole chain with recomputed
hashes leaves nothing in MongoDB to contradict it; the file (in the instance folder, or
CHECKPOINT_LOG_FILE, on the app host, fsync'd after each line) still holds what was signed, so
the audit and `flask ledger verify` check the chain against its latest line by default. One
JSON line per checkpoint: {"size": n, "note": "<the signed note>"}. Once on disk, the
checkpoint is handed to the witnesses (models.sealing.witnesses), if any are configured.
"""
import json
import os

from flask import current_app

from models.sealing import witnesses

NAME = "checkpoints.log"


def path(app=None):
    app = app or current_app
    return app.config.get("CHECKPOINT_LOG_FILE") or os.path.join(app.instance_path, NAME)


def keep(note, size, app=None):
    """Append one signed checkpoint and fsync it (before the caller reports success), then
    queue it for the witnesses."""
    target = path(app)
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    line = json.dumps({"size": size, "note": note}, ensure_ascii=False) + "\n"
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    witnesses.submit(app or current_app, note, size)


def latest(app=None, tail_bytes=65536):
    """The note of the last checkpoint kept (the file's last line), or None."""
    target = path(app)
    if not os.path.exists(target):
        return None
    with open(target, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - tail_bytes))
        lines = handle.read().splitlines()
    for raw in reversed(lines):
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue  # a line cut by a crash mid-write, or the head of the window
        if isinstance(entry, dict) and isinstance(entry.get("note"), str):
            return entry["note"]
    return None

"""The auditor's overview: chain height, last checkpoint, last audit, keys and activity.

Every auditor page shows the chain's shape and hashes only; no clinical value is ever
loaded for them (attribute names appear, values never do).
"""
from datetime import datetime, timezone

from flask import Response, abort, render_template

from blueprints.auditor import bp
from blueprints.guards import roles_required
from models.people import users
from models.sealing import activity, audit_jobs, checkpoints, explorer, trust, witnesses
from models.storage.db import get_db


def checkpoint_time(doc):
    stamp = doc.get("timestamp_ms") if doc else None
    return datetime.fromtimestamp(stamp / 1000, timezone.utc) if isinstance(stamp, int) else None


@bp.app_template_filter("checkpoint_time")
def _checkpoint_time_filter(doc):
    moment = checkpoint_time(doc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown"


@bp.route("/")
@roles_required(users.AUDITOR)
def dashboard():
    db = get_db()
    size = explorer.chain_size(db)
    return render_template(
        "auditor/dashboard.html", size=size, witness_rows=witnesses.status(db, size),
        latest=checkpoints.latest(db), last_audit=audit_jobs.last_finished(db),
        running=audit_jobs.running_job(db), keys=trust.public_keys(),
        activity=activity.per_day(db), alarms=checkpoints.alarms(db))


@bp.route("/keys/<key_id>.pub")
@roles_required(users.AUDITOR)
def public_key(key_id):
    """A verifier key as a one-line file, for `python -m ledger ... --pubkey`."""
    for key in trust.public_keys():
        if key["key_id"] == key_id:
            return Response(key["vkey"] + "\n", mimetype="text/plain", headers={
                "Content-Disposition": f"attachment; filename=ledger-{key_id}.pub"})
    abort(404)

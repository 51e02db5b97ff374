"""Full audits: started here, run in the background runner, watched through a JSON endpoint."""
import json

from flask import Response, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user

from blueprints.auditor import bp
from blueprints.auditor.forms import StartAuditForm
from blueprints.form_errors import show_on_form
from blueprints.guards import roles_required
from models.core.errors import DomainError
from models.people import users
from models.sealing import audit_jobs
from models.storage.db import get_db


def _audit_page(form, status=200, conflict=None):
    db = get_db()
    running = audit_jobs.running_job(db)
    return render_template("auditor/audits.html", form=form, running=running,
                           running_status=audit_jobs.progress_view(running),
                           jobs=audit_jobs.recent_jobs(db), conflict=conflict), status


@bp.route("/audits")
@roles_required(users.AUDITOR)
def audits():
    return _audit_page(StartAuditForm())


@bp.route("/audits", methods=["POST"])
@roles_required(users.AUDITOR)
def audit_start():
    form = StartAuditForm()
    if not form.validate_on_submit():
        return _audit_page(form, 400)
    held = (form.held.data or "").replace("\r\n", "\n").strip()
    try:
        job = audit_jobs.start(get_db(), current_user.human_id,
                               held_checkpoints=[held + "\n"] if held else [])
    except DomainError as exc:
        status = show_on_form(form, exc, "held")
        return _audit_page(form, status, conflict=exc.message)
    current_app.logger.info("audit %s started by %s", job["_id"], current_user.human_id)
    return redirect(url_for("auditor.audit_job", job=job["_id"]))


@bp.route("/audits/<job>")
@roles_required(users.AUDITOR)
def audit_job(job):
    doc = audit_jobs.get_job(get_db(), job)
    return render_template("auditor/audit_job.html", job=doc,
                           status=audit_jobs.progress_view(doc))


@bp.route("/audits/<job>/status")
@roles_required(users.AUDITOR)
def audit_status(job):
    return jsonify(audit_jobs.progress_view(audit_jobs.get_job(get_db(), job)))


@bp.route("/audits/<job>/report.json")
@roles_required(users.AUDITOR)
def audit_report(job):
    doc = audit_jobs.get_job(get_db(), job)
    if not doc.get("report"):
        return jsonify(audit_jobs.progress_view(doc)), 409
    body = json.dumps({"job": doc["_id"], "requested_by": doc["requested_by"],
                       "started_at": doc["started_at"].isoformat() if doc.get("started_at") else None,
                       "finished_at": doc["finished_at"].isoformat() if doc.get("finished_at") else None,
                       "report": doc["report"]}, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename={doc['_id'].lower()}-report.json"})

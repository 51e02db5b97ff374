"""Checkpoints: list, download as C2SP note text, create now, compare with a held one."""
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.auditor import bp
from blueprints.auditor.forms import CompareCheckpointForm, CreateCheckpointForm
from blueprints.form_errors import show_on_form
from blueprints.guards import roles_required
from models.core.errors import DomainError
from models.people import users
from models.sealing import checkpoints
from models.storage.db import get_db


def _before():
    value = request.args.get("before", "")
    return int(value) if value.isdigit() else None


def _list_page(compare_form=None, verdict=None, status=200):
    found, next_before = checkpoints.page(get_db(), before_size=_before())
    return render_template("auditor/checkpoints.html", checkpoints=found, next_before=next_before,
                           create_form=CreateCheckpointForm(),
                           compare_form=compare_form or CompareCheckpointForm(),
                           verdict=verdict, parsed=checkpoints.parsed), status


@bp.route("/checkpoints")
@roles_required(users.AUDITOR)
def checkpoint_list():
    return _list_page()


@bp.route("/checkpoints", methods=["POST"])
@roles_required(users.AUDITOR)
def checkpoint_create():
    form = CreateCheckpointForm()
    if not form.validate_on_submit():
        return _list_page(status=400)
    doc = checkpoints.create(get_db())
    current_app.logger.info("checkpoint of size %s created by %s", doc["size"], current_user.human_id)
    flash(f"Checkpoint of size {doc['size']} signed and stored. Download it and keep it "
          "outside the system.", "success")
    return redirect(url_for("auditor.checkpoint_list"))


@bp.route("/checkpoints/<int:size>/<key_id>.note")
@roles_required(users.AUDITOR)
def checkpoint_download(size, key_id):
    doc = checkpoints.get(get_db(), f"{size}:{key_id}")
    return Response(doc["note"], mimetype="text/plain; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=checkpoint-{size}.note"})


@bp.route("/checkpoints/compare", methods=["POST"])
@roles_required(users.AUDITOR)
def checkpoint_compare():
    form = CompareCheckpointForm()
    if not form.validate_on_submit():
        return _list_page(form, status=400)
    upload = form.note_file.data
    raw = upload.read(checkpoints.MAX_NOTE_BYTES + 1) if upload and upload.filename else form.note.data
    try:
        verdict = checkpoints.compare_held(get_db(), raw)
    except DomainError as exc:
        status = show_on_form(form, exc, "note")
        return _list_page(form, status=status)
    current_app.logger.info("held checkpoint compared by %s: %s", current_user.human_id, verdict.kind)
    return _list_page(form, verdict=verdict)

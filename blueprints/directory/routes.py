"""The doctor directory: search, a doctor's page, and editing an entry.

Every signed-in role but the auditor may search and read it (patients find a doctor, staff
reach a colleague, the administrator checks the doctors it verified); the auditor works on the
ledger's pseudonyms and has no use for work contacts. A doctor edits their own entry, a
manager their organization's doctors' entries: the model decides that by id (403 otherwise).
"""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.directory import bp
from blueprints.directory.forms import DirectorySearchForm, EntryForm
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.template_helpers import installation_zone
from models.care import doctor_directory
from models.core.errors import InvalidInput
from models.people import users
from models.storage.db import get_db

READERS = tuple(role for role in users.ROLES if role != users.AUDITOR)
SEARCH_ARGS = ("name", "specialty", "org", "on_call")


@bp.route("/")
@roles_required(*READERS)
def search():
    db = get_db()
    form = DirectorySearchForm(doctor_directory.organization_choices(db), request.args)
    found = None
    if any(name in request.args for name in SEARCH_ARGS):
        try:
            found = doctor_directory.search(
                db, name=form.name.data or "", specialty=form.specialty.data or "",
                org_id=form.org.data or "", on_call_only=bool(form.on_call.data),
                zone=installation_zone())
        except InvalidInput as exc:
            for name, message in exc.field_errors.items():
                field = getattr(form, name, form.name)
                field.errors = list(field.errors) + [message]
            return render_template("directory/search.html", form=form, found=None), 400
    return render_template("directory/search.html", form=form, found=found)


@bp.route("/doctors/<human_id>")
@roles_required(*READERS)
def doctor(human_id):
    db = get_db()
    listing = doctor_directory.page_of(db, human_id, zone=installation_zone())
    may_edit = _may_edit(listing["human_id"], listing.get("org_id"))
    history = doctor_directory.versions(db, listing["human_id"]) if may_edit else []
    return render_template("directory/doctor.html", listing=listing, may_edit=may_edit,
                           history=history)


def _may_edit(human_id, org_id):
    return (current_user.role == users.DOCTOR and current_user.human_id == human_id) or \
        (current_user.role == users.ORG_MANAGER and current_user.org_id
         and current_user.org_id == org_id)


@bp.route("/me", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def me():
    return _edit(current_user.human_id)


@bp.route("/doctors/<human_id>/edit", methods=["GET", "POST"])
@roles_required(users.DOCTOR, users.ORG_MANAGER)
def edit(human_id):
    return _edit(human_id)


def _edit(human_id):
    db = get_db()
    doctor = doctor_directory.editable_doctor(db, current_user.doc, human_id)
    form = EntryForm()
    if request.method == "GET":
        form.fill(doctor_directory.current_entry(db, doctor["human_id"]) or {})
        return render_template("directory/edit.html", form=form, doctor=doctor)
    saved, status = submitted(form, lambda: doctor_directory.update(
        db, editor=current_user.doc, human_id=doctor["human_id"], raw=form.raw()))
    if saved:
        current_app.logger.info("directory entry doctor=%s version=%s by=%s", saved["doctor_id"],
                                saved["version"], current_user.human_id)
        flash(f"Saved version {saved['version']} of the directory entry of {doctor['name']}.",
              "success")
        return redirect(url_for("directory.doctor", human_id=doctor["human_id"]))
    return render_template("directory/edit.html", form=form, doctor=doctor), status
